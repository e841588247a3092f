import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { Environment } from '../../config/environment';
import { wrapInCloudEvent } from '../../contracts';
import { EventAppendedSignal } from '../../event-store/event-appended-signal';
import type { StoredEvent } from '../../event-store/stored-event';
import {
  advanceCheckpoint,
  Checkpoint,
  countEventsAfter,
  ensureCheckpoint,
  loadCheckpoint,
  readCommittedEventsAfter,
} from '../../event-store/subscription/committed-events';
import { EventUpcasters } from '../../event-store/upcasting/event-upcasters';
import { IntegrationEventMappers } from '../integration-event-mappers';
import { IntegrationEventPublisher } from '../integration-event-publisher';
import { OutgoingIntegrationEvent } from '../outgoing-integration-event';

export const RELAY_CHECKPOINT = 'relay:integration-events';
const EVENT_SOURCE = '/eda/api';

/**
 * The transactional outbox relay: the events table is the outbox. One process at a time relays
 * (a PostgreSQL advisory lock held on a dedicated connection; when that process dies, its
 * session and lock go with it and another takes over). Each batch is read without holding a
 * transaction, published with every message in flight at once, and the checkpoint advances only
 * after the broker confirmed all of them. A failure or timeout republishes the batch later:
 * duplicates are possible, losses are not; the consumer's inbox drops the duplicates.
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(OutboxRelay.name);
  private readonly lockKey: string;
  private lockHolder?: Client;
  private running?: Promise<void>;
  private stopping = false;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly publisher: IntegrationEventPublisher,
    private readonly mappers: IntegrationEventMappers,
    private readonly appended: EventAppendedSignal,
    private readonly config: ConfigService<Environment, true>,
    private readonly upcasters: EventUpcasters,
  ) {
    this.lockKey = `relay:${config.get('BROKER_PREFIX', { infer: true })}`;
  }

  onApplicationBootstrap(): void {
    if (!this.config.get('RELAY_ENABLED', { infer: true })) return;
    this.running = this.run();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.appended.raise();
    await this.running;
    await this.releaseLeadership();
  }

  get isLeader(): boolean {
    return this.lockHolder !== undefined;
  }

  /** Events stored but not yet confirmed by the broker. */
  lag(): Promise<number> {
    return countEventsAfter(this.dataSource, RELAY_CHECKPOINT);
  }

  /** Relays at most one batch; returns how many events it covered. Requires leadership. */
  async relayNextBatch(): Promise<number> {
    const checkpoint = await loadCheckpoint(this.dataSource, RELAY_CHECKPOINT);
    const events = this.upcasters.upcastAll(
      await readCommittedEventsAfter(this.dataSource, checkpoint, this.config.get('RELAY_BATCH_SIZE', { infer: true })),
    );
    if (events.length === 0) return 0;
    const messages = events.flatMap((event) => this.toMessage(event) ?? []);
    await Promise.all(messages.map((message) => this.publisher.publish(message)));
    const last = events[events.length - 1];
    await advanceCheckpoint(this.dataSource, RELAY_CHECKPOINT, last satisfies Checkpoint);
    return events.length;
  }

  private toMessage(event: StoredEvent): OutgoingIntegrationEvent | undefined {
    const mapped = this.mappers.map(event);
    if (!mapped) return undefined;
    return {
      routingKey: mapped.type,
      envelope: wrapInCloudEvent(mapped, mapped.data, {
        id: event.eventId,
        source: EVENT_SOURCE,
        subject: event.streamId,
        time: event.metadata.occurredAt,
        correlationId: event.metadata.correlationId,
        causationId: event.metadata.causationId,
        sequence: event.streamVersion,
      }),
    };
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      try {
        if (!(await this.holdLeadership())) {
          await this.appended.wait(1000);
          continue;
        }
        const relayed = await this.relayNextBatch();
        failures = 0;
        if (relayed === 0) await this.appended.wait(this.config.get('PROJECTION_IDLE_POLL_MS', { infer: true }));
      } catch (error) {
        if (this.stopping) break;
        failures += 1;
        const delay = Math.min(10_000, 100 * 2 ** failures);
        this.logger.warn(`relay batch failed (attempt ${failures}), retrying in ${delay} ms: ${String(error)}`);
        await this.appended.wait(delay);
      }
    }
  }

  private async holdLeadership(): Promise<boolean> {
    if (this.lockHolder) return true;
    const client = new Client({ connectionString: this.config.get('DATABASE_URL', { infer: true }) });
    client.on('error', () => void this.releaseLeadership());
    try {
      await client.connect();
      const [{ locked }] = (await client.query('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [this.lockKey])).rows;
      if (!locked) {
        await client.end();
        return false;
      }
      client.once('end', () => {
        if (this.lockHolder === client) this.lockHolder = undefined;
      });
      await ensureCheckpoint(this.dataSource, RELAY_CHECKPOINT);
      this.lockHolder = client;
      this.logger.log('this process now relays integration events');
      return true;
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
  }

  private async releaseLeadership(): Promise<void> {
    const holder = this.lockHolder;
    this.lockHolder = undefined;
    await holder?.end().catch(() => undefined);
  }
}
