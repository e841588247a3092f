import { z } from 'zod';
import { InvalidEnvironmentError } from '../../config/environment';

const port = z.coerce.number().int().min(1).max(65535);

export const consumerEnvironmentSchema = z.object({
  CONSUMER_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\/.+/, 'must be a postgres:// URL')
    .default('postgres://postgres:postgres@127.0.0.1:5432/eda_consumer'),
  CONSUMER_PORT: port.default(3001),
  HOST: z.string().min(1).default('127.0.0.1'),
  RABBITMQ_URL: z
    .string()
    .regex(/^amqps?:\/\/.+/, 'must be an amqp:// URL')
    .default('amqp://guest:guest@127.0.0.1:5672'),
  BROKER_PREFIX: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,60}$/, 'lower-case letters, digits, dot, dash, underscore')
    .default('eda'),
  CONSUMER_PREFETCH: z.coerce.number().int().min(1).max(5000).default(100),
  CONSUMER_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(5),
  CONSUMER_RETRY_DELAYS_MS: z
    .string()
    .regex(/^\d+(,\d+)*$/, 'comma-separated milliseconds, e.g. 1000,5000,30000')
    .default('1000,5000,30000')
    .transform((value) => value.split(',').map(Number)),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(2).max(200).default(20),
  LOG_LEVEL: z.enum(['error', 'warn', 'log', 'debug', 'verbose']).default('log'),
});

export type ConsumerEnvironment = z.infer<typeof consumerEnvironmentSchema>;

export function loadConsumerEnvironment(raw: Record<string, string | undefined>): ConsumerEnvironment {
  const result = consumerEnvironmentSchema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  throw new InvalidEnvironmentError(`Invalid configuration: ${problems.join('; ')}`);
}
