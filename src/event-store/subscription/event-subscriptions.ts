import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { AfterListening } from '../../shared/after-listening';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Environment } from '../../config/environment';
import { DatabaseNotifications } from '../../database/database-notifications';
import { EventStoreManifests } from '../manifest/event-store-manifests';
import { applyProjection } from '../manifest/projection-definition';
import { EventSequencer } from '../sequencing/event-sequencer';
import { SubscriptionLeases } from '../segments/subscription-leases';
import { EventUpcasters } from '../upcasting/event-upcasters';
import { CheckpointedSubscription, EventBatchHandler, SubscriptionOptions } from './checkpointed-subscription';
import { SUBSCRIPTION_RETRY_CHANNEL } from './subscription-failures';

/**
 * Owns every checkpointed subscription of the process: one per projection of the modules'
 * manifests, registered while the app is built, plus any registered by hand; all start once the
 * app listens (AfterListening) and stop before the database connection closes.
 */
@Injectable()
export class EventSubscriptions implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(EventSubscriptions.name);
  private readonly subscriptions = new Map<string, CheckpointedSubscription>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly sequencer: EventSequencer,
    private readonly config: ConfigService<Environment, true>,
    private readonly upcasters: EventUpcasters,
    private readonly afterListening: AfterListening,
    private readonly notifications: DatabaseNotifications,
    private readonly leases: SubscriptionLeases,
    private readonly manifests: EventStoreManifests,
  ) {}

  onModuleInit(): void {
    for (const projection of this.manifests.projections) {
      this.register(projection.subscriptionId, (events, transaction) => applyProjection(projection, events, transaction, projection.table, this.upcasters));
    }
  }

  register(name: string, handler: EventBatchHandler, options: Partial<SubscriptionOptions> = {}): CheckpointedSubscription {
    if (this.subscriptions.has(name)) throw new Error(`subscription ${name} is registered twice`);
    const subscription = new CheckpointedSubscription(name, this.dataSource, handler, this.sequencer, {
      batchSize: this.config.get('PROJECTION_BATCH_SIZE', { infer: true }),
      gatherMs: this.config.get('PROJECTION_GATHER_MS', { infer: true }),
      lease: this.leases.lease(name, this.config.get('SUBSCRIPTION_SEGMENTS', { infer: true })),
      ...options,
    });
    this.subscriptions.set(name, subscription);
    return subscription;
  }

  /** The names of every subscription registered in this process (their checkpoint ids). */
  get names(): string[] {
    return [...this.subscriptions.keys()];
  }

  get(name: string): CheckpointedSubscription {
    const subscription = this.subscriptions.get(name);
    if (!subscription) throw new Error(`no subscription named ${name}`);
    return subscription;
  }

  onApplicationBootstrap(): void {
    this.afterListening.register('projections', async () => {
      for (const subscription of this.subscriptions.values()) await subscription.start();
      // An operator's `npm run subscriptions -- retry | skip | resume`: the subscription looks at once.
      this.notifications.on(SUBSCRIPTION_RETRY_CHANNEL, (subscriptionId) => this.subscriptions.get(subscriptionId)?.retryNow());
      this.logger.log(`projections started: ${this.names.join(', ') || 'none'}`);
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all([...this.subscriptions.values()].map((subscription) => subscription.stop()));
  }
}
