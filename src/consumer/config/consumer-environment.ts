import { z } from 'zod';
import { brokerSettings, databaseSessionSettings, httpSecuritySettings, loggingSettings, migrationSettings, parseEnvironment, port, retentionHours, retentionSettings, shutdownTimeoutMs, tracingSettings } from '../../config/environment';

export const consumerEnvironmentSchema = z.object({
  CONSUMER_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\/.+/, 'must be a postgres:// URL')
    .default('postgres://postgres:postgres@127.0.0.1:5432/eda_consumer'),
  CONSUMER_PORT: port.default(3001),
  /** The interface the consumer's HTTP side listens on; its own setting, apart from the API's HOST. */
  CONSUMER_HOST: z.string().min(1).default('127.0.0.1'),
  ...brokerSettings,
  ...loggingSettings,
  ...tracingSettings,
  CONSUMER_PREFETCH: z.coerce.number().int().min(1).max(5000).default(100),
  /** How long the inbox gathers deliveries into one transaction, counted from the first, in milliseconds. */
  CONSUMER_BATCH_GATHER_MS: z.coerce.number().int().min(0).max(1_000).default(5),
  /** At most this many events are applied in one transaction. */
  CONSUMER_BATCH_SIZE: z.coerce.number().int().min(1).max(5000).default(100),
  CONSUMER_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(5),
  /** On shutdown, how long to wait for the deliveries being handled to settle before closing the channel. */
  CONSUMER_DRAIN_TIMEOUT_MS: z.coerce.number().int().min(0).max(120_000).default(5_000),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(2).max(200).default(20),
  /** Statements with parameters run prepared, planned once per connection; false behind a transaction-mode pooler. */
  DATABASE_PREPARED_STATEMENTS: z.enum(['true', 'false']).default('true').transform((value) => value === 'true'),
  ...databaseSessionSettings,
  ...migrationSettings,
  /**
   * How long an applied event's `inbox` row is kept, at least. A redelivery of the event after its
   * row was pruned is still refused by its stream's sequence (src/consumer/inbox/inbox-retention.ts).
   */
  INBOX_RETENTION_HOURS: retentionHours.default(168),
  ...retentionSettings,
  ...httpSecuritySettings,
  SHUTDOWN_TIMEOUT_MS: shutdownTimeoutMs,
});

export type ConsumerEnvironment = z.infer<typeof consumerEnvironmentSchema>;

export function loadConsumerEnvironment(raw: Record<string, string | undefined>): ConsumerEnvironment {
  return parseEnvironment(consumerEnvironmentSchema, raw);
}
