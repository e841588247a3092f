import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { z } from 'zod';
import { Environment } from '../config/environment';
import type { ConsumerAnswer } from './flow-graph';

/** Event ids per request to the consumer: keeps its URL far below the 16 KiB of Node's header limit. */
const EVENT_IDS_PER_REQUEST = 100;

/**
 * What the consumer's GET /inbox answers (InboxEffectsResponse there), as far as a flow reads it.
 * Checked, not trusted: another version of the consumer, or something else at CONSUMER_URL, may
 * answer anything, and a time that is not one would fail the whole flow.
 */
const inboxAnswer = z.object({
  items: z.array(
    z.object({
      eventId: z.string(),
      appliedAt: z.iso.datetime({ offset: true }),
      effects: z.array(z.object({ readModel: z.string(), kind: z.string().optional(), message: z.string().optional() })),
    }),
  ),
});

type InboxEntry = z.infer<typeof inboxAnswer>['items'][number];

/**
 * Asks the consumer app (CONSUMER_URL, its `GET /inbox`) when it applied given events and what they
 * changed, with the caller's own bearer token: the API keeps no credential of its own for it and
 * never reads the consumer's database. A consumer that does not answer in CONSUMER_TIMEOUT_MS,
 * answers with an error or with something else than GET /inbox's answer, or is not configured
 * makes an answer that says so, never an exception: the flow is drawn without the consumer's times.
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
    // One timeout for the headers and the body alike: a consumer that stalls mid-answer is unreachable too.
    const signal = AbortSignal.timeout(this.timeoutMs);
    let response: Response;
    try {
      // redirect 'manual': the caller's token and the flow's event ids go to CONSUMER_URL only; a redirect is an error answer.
      response = await fetch(url, { headers: { accept: 'application/json', ...(authorization && { authorization }) }, signal, redirect: 'manual' });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      throw this.unreachable(this.timedOut(error) ? `no answer within ${this.timeoutMs} ms` : (cause ?? (error as Error).message));
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`the consumer at ${this.baseUrl} answered ${response.status} to GET /inbox`);
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch (error) {
      throw this.timedOut(error) ? this.unreachable(`no whole answer within ${this.timeoutMs} ms`) : this.notAnInboxAnswer('not JSON');
    }
    const parsed = inboxAnswer.safeParse(body);
    if (!parsed.success) {
      const [issue] = parsed.error.issues;
      throw this.notAnInboxAnswer(`${issue.path.join('.') || 'the body'}: ${issue.message}`);
    }
    return parsed.data.items;
  }

  private timedOut(error: unknown): boolean {
    return (error as Error).name === 'TimeoutError';
  }

  private unreachable(why: string): Error {
    return new Error(`the consumer at ${this.baseUrl} is unreachable: ${why}`);
  }

  private notAnInboxAnswer(why: string): Error {
    return new Error(`the consumer at ${this.baseUrl} answered something that is not an answer of GET /inbox (${why})`);
  }
}
