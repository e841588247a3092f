import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Environment } from '../config/environment';
import type { ConsumerAnswer, ConsumerEffect } from './flow-graph';

/** Event ids per request to the consumer: keeps its URL far below the 16 KiB of Node's header limit. */
const EVENT_IDS_PER_REQUEST = 100;

interface InboxEntry {
  eventId: string;
  appliedAt: string;
  effects: ConsumerEffect[];
}

/**
 * Asks the consumer app (CONSUMER_URL, its `GET /inbox`) when it applied given events and what they
 * changed, with the caller's own bearer token: the API keeps no credential of its own for it and
 * never reads the consumer's database. A consumer that does not answer in CONSUMER_TIMEOUT_MS,
 * answers with an error, or is not configured makes an answer that says so, never an exception:
 * the flow is drawn without the consumer's times.
 */
@Injectable()
export class ConsumerEffects {
  private readonly logger = new Logger(ConsumerEffects.name);
  private readonly baseUrl?: string;
  private readonly timeoutMs: number;

  constructor(config: ConfigService<Environment, true>) {
    this.baseUrl = config.get('CONSUMER_URL', { infer: true })?.replace(/\/+$/, '');
    this.timeoutMs = config.get('CONSUMER_TIMEOUT_MS', { infer: true });
  }

  async of(eventIds: readonly string[], authorization: string | undefined): Promise<ConsumerAnswer> {
    if (!this.baseUrl) return { status: 'not-configured' };
    const chunks: string[][] = [];
    for (let start = 0; start < eventIds.length; start += EVENT_IDS_PER_REQUEST) chunks.push(eventIds.slice(start, start + EVENT_IDS_PER_REQUEST));
    try {
      const answers = await Promise.all(chunks.map((chunk) => this.ask(chunk, authorization)));
      const applied = new Map(answers.flat().map(({ eventId, appliedAt, effects }) => [eventId, { appliedAt: new Date(appliedAt), effects }]));
      return { status: 'reachable', applied };
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      this.logger.warn(`the consumer's effects could not be read: ${detail}`);
      return { status: 'unreachable', detail };
    }
  }

  private async ask(eventIds: readonly string[], authorization: string | undefined): Promise<InboxEntry[]> {
    if (eventIds.length === 0) return [];
    const url = `${this.baseUrl}/inbox?${eventIds.map((id) => `eventId=${encodeURIComponent(id)}`).join('&')}`;
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { accept: 'application/json', ...(authorization && { authorization }) },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      const why = (error as Error).name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : (cause ?? (error as Error).message);
      throw new Error(`the consumer at ${this.baseUrl} is unreachable: ${why}`);
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`the consumer at ${this.baseUrl} answered ${response.status} to GET /inbox`);
    }
    return ((await response.json()) as { items: InboxEntry[] }).items;
  }
}
