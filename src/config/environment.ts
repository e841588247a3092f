import { z } from 'zod';

export const port = z.coerce.number().int().min(1).max(65535);

/** Settings both processes read identically, so they agree on the broker and its names. */
export const brokerSettings = {
  RABBITMQ_URL: z
    .string()
    .regex(/^amqps?:\/\/.+/, 'must be an amqp:// URL')
    .default('amqp://guest:guest@127.0.0.1:5672'),
  BROKER_PREFIX: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,60}$/, 'lower-case letters, digits, dot, dash, underscore')
    .default('eda'),
  CONSUMER_RETRY_DELAYS_MS: z
    .string()
    .regex(/^\d+(,\d+)*$/, 'comma-separated milliseconds, e.g. 1000,5000,30000')
    .default('1000,5000,30000')
    .transform((value) => value.split(',').map(Number)),
};

/** How both processes log (src/logging/process-logger.ts). */
export const loggingSettings = {
  /** Nest's level names; `log` is pino's `info`, `verbose` pino's `trace`. */
  LOG_LEVEL: z.enum(['error', 'warn', 'log', 'debug', 'verbose']).default('log'),
  /** `json`: one JSON object per line, for a log shipper; `pretty`: one coloured line of text per entry, for a person. */
  LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
};

/**
 * How both processes prune what they keep only for a while (idempotency keys, inbox rows): a run
 * right after listening, then one every RETENTION_PRUNE_INTERVAL_MS after the previous ended, each
 * deleting at most RETENTION_PRUNE_BATCH_SIZE rows per statement (src/database/retention).
 */
export const retentionSettings = {
  RETENTION_PRUNE_INTERVAL_MS: z.coerce.number().int().min(100).max(86_400_000).default(600_000),
  RETENTION_PRUNE_BATCH_SIZE: z.coerce.number().int().min(1).max(100_000).default(1000),
};

/** Settings of the pool's sessions that both apps share. */
export const databaseSessionSettings = {
  /**
   * Milliseconds a transaction of this process may sit open with no statement running before
   * PostgreSQL ends its session (`idle_in_transaction_session_timeout`), which frees its row locks
   * and ends the transaction. The apps' own transactions never wait that long between statements:
   * one that does belongs to a process that stopped working (SIGSTOP, a paused VM, a blocked event
   * loop), whose row locks would otherwise hold up every other process's work on those rows. 0: no
   * bound (behind a transaction-mode pooler, which refuses the setting at connect, use its own
   * `idle_transaction_timeout` instead). Else at least 1 s: a bound near a client round trip would
   * end the apps' own transactions between two statements.
   */
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(86_400_000)
    .refine((ms) => ms === 0 || ms >= 1000, 'must be 0 (no bound) or at least 1000')
    .default(15_000),
  /**
   * Milliseconds a statement on a pool connection waits for PostgreSQL's answer before its
   * connection is ended and the statement fails as a lost database (an HTTP request answers 503
   * DATABASE_UNAVAILABLE; a reaction step, the relay, a projection or the inbox retries). Against
   * a server that vanished without closing the connection (its machine gone, the network cut)
   * nothing else ends the wait before the kernel's TCP timeouts, up to about 15 minutes; the
   * server's own `statement_timeout` cannot, since it is the server that is gone. Counted on this
   * side (src/database/statement-reply-timeout.ts), so it also ends a statement that waits this
   * long for a lock. Migrations and projection rebuilds are not bounded, nor are the CLIs but the
   * migrate commands (their connects, and their statements other than the migrations). The API
   * also bounds with it a new connection's handshake and a wait for a free pool connection (the
   * consumer has 10 s for those). 0: no bound. Else at least 1 s: a bound near a client round trip
   * would fail the apps' own statements.
   */
  DATABASE_STATEMENT_REPLY_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(86_400_000)
    .refine((ms) => ms === 0 || ms >= 1000, 'must be 0 (no bound) or at least 1000')
    .default(30_000),
};

/**
 * How both processes (and the fill-store and migrate CLIs) treat their database's migrations: one
 * process at a time per database, the others waiting on its advisory lock (src/database/migration-lock.ts).
 */
export const migrationSettings = {
  /**
   * What a starting process does with its database's migrations. `run`: creates the database if
   * missing and applies what is pending, under the migration lock. `check`: creates and applies
   * nothing (for a role without DDL rights, the migrations being a deploy step of their own:
   * `npm run migrate:api`, `npm run migrate:consumer`) and refuses to start while one is pending,
   * naming them; after waiting, like a run, for a migration run in progress.
   */
  DATABASE_MIGRATIONS: z.enum(['run', 'check']).default('run'),
  /**
   * Milliseconds a starting process waits for another process's migration run to end before it
   * gives up and fails to start (naming the holder); 0: no bound. The run itself is never bounded.
   */
  MIGRATION_LOCK_WAIT_MS: z.coerce.number().int().min(0).max(86_400_000).default(600_000),
};

/** A retention in hours (fractions allowed), at most ten years. */
export const retentionHours = z.coerce.number().positive().max(87_600);

/**
 * Whether a URL carries no user or password. zod runs a refinement even after the value failed
 * `z.url()` (an empty or malformed value): it is not this check's to refuse, so it passes here.
 */
function withoutCredentials(value: string): boolean {
  if (!URL.canParse(value)) return true;
  const url = new URL(value);
  return !url.username && !url.password;
}

/**
 * The standard OpenTelemetry variables that switch tracing on (src/tracing/start-tracing.ts reads
 * them in the `--import` preload; the SDK reads them and the other `OTEL_*` variables itself).
 * Tracing is on when OTEL_TRACES_EXPORTER names an exporter, or an OTLP endpoint is set and
 * OTEL_TRACES_EXPORTER is unset; OTEL_SDK_DISABLED=true turns it off whatever else is set. Names and
 * values from the OpenTelemetry specification ("Environment Variable Specification").
 */
export const tracingSettings = {
  OTEL_SDK_DISABLED: z
    .string()
    .regex(/^(true|false)$/i, 'true or false')
    .optional(),
  OTEL_TRACES_EXPORTER: z
    .string()
    .regex(/^\s*(otlp|console|zipkin|none)\s*(,\s*(otlp|console|zipkin|none)\s*)*$/, 'comma-separated: otlp, console, zipkin or none')
    .optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: z.enum(['grpc', 'http/protobuf', 'http/json']).optional(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: z.enum(['grpc', 'http/protobuf', 'http/json']).optional(),
};

/**
 * Settings of every HTTP side (the API's and the consumer's): who may call it, how often, from
 * which browser origins, and how long a client may take to send a request. Authentication is
 * optional here so that the CLIs, which serve no HTTP, need none; an HTTP process without it
 * refuses to start (src/auth/authentication-settings.ts).
 */
export const httpSecuritySettings = {
  /** `development`: tokens signed with a development secret (generated when AUTH_JWT_SECRET is unset); a warning at start. */
  AUTH_MODE: z.enum(['jwt', 'development']).default('jwt'),
  /** Shared secret of HS256 tokens (at least 32 characters outside development mode). */
  AUTH_JWT_SECRET: z.string().min(1).optional(),
  /**
   * Where the issuer publishes its signing keys (RS256, ES256, …): a JSON Web Key Set. Without a
   * user or password: fetch refuses a URL with credentials, so no token could ever be verified.
   */
  AUTH_JWKS_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http(s):// URL' })
    .refine((url) => withoutCredentials(url), 'must carry no user or password (fetch refuses such a URL)')
    .optional(),
  /** The `iss` every token must carry; unset: not checked. */
  AUTH_ISSUER: z.string().min(1).optional(),
  /** The `aud` every token must carry (required with AUTH_JWKS_URL); unset: not checked. */
  AUTH_AUDIENCE: z.string().min(1).optional(),
  /**
   * Requests a client (a token's `sub`, else an IP address) may send to this process in any 60 s;
   * 0: no limit. At most 10,000: the limiter keeps a timestamp per request of the window.
   */
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).max(10_000).default(0),
  /** Browser origins allowed to call the API (CORS), comma-separated, e.g. https://app.example.com; unset: none. */
  CORS_ORIGINS: z
    .string()
    .regex(/^https?:\/\/[^\s,/]+(,https?:\/\/[^\s,/]+)*$/, 'comma-separated origins such as https://app.example.com (scheme, host, port; no path)')
    .optional()
    .transform((value) => (value ? value.split(',') : [])),
  /** Milliseconds a client may take to send a whole request (headers and body); 0: no limit. */
  HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
  /**
   * Milliseconds a connection may stay silent (no byte either way) before it is closed; 0: never.
   * At least 1000 otherwise: a command may wait up to a second at the door (admission control,
   * MAX_ADMISSION_DELAY_MS) with nothing sent, and a shorter bound cut it off there.
   */
  HTTP_CONNECTION_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(3_600_000)
    .refine((ms) => ms === 0 || ms >= 1000, 'must be 0 (never) or at least 1000: a command may wait up to 1 s at the door with nothing sent')
    .default(120_000),
};

/** How long a SIGTERM or SIGINT may take before the process gives up and exits 1. */
export const shutdownTimeoutMs = z.coerce.number().int().min(100).max(600_000).default(10_000);

export const environmentSchema = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\/.+/, 'must be a postgres:// URL')
    .default('postgres://postgres:postgres@127.0.0.1:5432/eda'),
  PORT: port.default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  HTTP_BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).default(1_048_576),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(2).max(200).default(20),
  /** Statements with parameters run prepared, planned once per connection; false behind a transaction-mode pooler. */
  DATABASE_PREPARED_STATEMENTS: z.enum(['true', 'false']).default('true').transform((value) => value === 'true'),
  ...databaseSessionSettings,
  ...migrationSettings,
  PROJECTION_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(500),
  /**
   * How often each process reads the store when no NOTIFY woke it: the safety net that numbers
   * appends and wakes readers should a notification be lost. One read-only statement, no
   * transaction id.
   */
  EVENT_STORE_SAFETY_POLL_MS: z.coerce.number().int().min(50).max(600_000).default(2000),
  /** Events the sequencer numbers per transaction (one UPDATE). */
  EVENT_SEQUENCER_BATCH_SIZE: z.coerce.number().int().min(1).max(100_000).default(2000),
  /** After numbering, how long further appends gather before the next sequencing transaction. */
  EVENT_SEQUENCER_GATHER_MS: z.coerce.number().int().min(0).max(1_000).default(5),
  PROJECTION_GATHER_MS: z.coerce.number().int().min(0).max(1_000).default(10),
  /**
   * Segments each projection and reaction is split into by stream id (a reaction: its partition
   * key), so that several API processes share the work (src/event-store/segments). Every process
   * of a database must use the same number.
   */
  SUBSCRIPTION_SEGMENTS: z.coerce.number().int().min(1).max(256).default(1),
  /** How often a process that does not hold every segment looks for free ones: a dead process's segments move within about this. */
  SUBSCRIPTION_LEASE_LOOK_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  /**
   * Milliseconds a process may send nothing on its lease session (the segments' locks, the relay's
   * leadership) before PostgreSQL ends that session and its leases move to another process
   * (`idle_session_timeout`; a heartbeat goes every third of it). It catches a process that stopped
   * working but did not die (SIGSTOP, a paused VM, a blocked event loop), which TCP keepalive does
   * not. Keep it well under ORDER_CONFIRMATION_TIMEOUT_MS, or a frozen process's orders time out
   * before another process takes them over.
   */
  LEASE_SESSION_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(15_000),
  ...brokerSettings,
  ...loggingSettings,
  ...tracingSettings,
  RELAY_ENABLED: z.enum(['true', 'false']).default('true').transform((value) => value === 'true'),
  RELAY_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(1000),
  /** A confirm overdue this long while RabbitMQ does not block the connection means the channel is broken. */
  RELAY_PUBLISH_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(5000),
  /** Messages published and not yet confirmed, at most: bounds memory and the duplicates of a broken channel. */
  RELAY_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(10_000).default(500),
  /** How long the time each event was published is kept (`relay_batches`, one row per relayed batch), at least: what GET /flows shows. */
  RELAY_BATCH_RETENTION_HOURS: retentionHours.default(168),
  /**
   * The consumer app's HTTP side (CONSUMER_PORT there), which GET /flows/{correlationId} asks for
   * the consumer's effects of a flow's events; unset: flows show no consumer effects.
   */
  CONSUMER_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
    .refine((url) => withoutCredentials(url), 'must carry no user or password (the caller\'s token is forwarded)')
    .optional(),
  /** Milliseconds GET /flows waits for the consumer's answer before it shows the consumer as unreachable. */
  CONSUMER_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(2000),
  /** false: this process runs no sagas, event handlers or deadlines (another one must). */
  REACTIONS_ENABLED: z.enum(['true', 'false']).default('true').transform((value) => value === 'true'),
  REACTION_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(100),
  /**
   * Events of different partitions (see DurableReaction's partitionBy) one reaction takes at once,
   * each in its own transaction: at most this many of the pool's connections.
   */
  REACTION_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(8),
  /**
   * Events a reaction takes together in one transaction when they wait in its batch (a backlog of
   * one partition, or the first events of more partitions than REACTION_CONCURRENCY), with their
   * receipts in one INSERT sent with the COMMIT; 1 takes every event in a transaction of its own.
   * A bigger chunk holds its row locks longer, and throws more work away when it rolls back (an
   * event failing in it, or taken elsewhere meanwhile).
   */
  REACTION_CHUNK_SIZE: z.coerce.number().int().min(1).max(60).default(20),
  REACTION_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(5),
  REACTION_RETRY_BASE_MS: z.coerce.number().int().min(1).max(60_000).default(200),
  ORDER_CONFIRMATION_TIMEOUT_MS: z.coerce.number().int().min(100).max(86_400_000).default(30_000),
  ORDER_DEADLINE_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
  /**
   * Admission control (load shedding) of commands: `on` answers POST/PUT/PATCH/DELETE with 503 and
   * `Retry-After` while a reader of the event store lags past a bound below (src/admission).
   */
  ADMISSION_CONTROL: z.enum(['on', 'off']).default('on'),
  /**
   * Milliseconds: commands are shed while the oldest event a reader (projection, reaction, relay)
   * has yet to take is older than this, until every reader is back under half of it; 0: no bound
   * on age. Unset: a tenth of ORDER_CONFIRMATION_TIMEOUT_MS, at least MIN_DEFAULT_ADMISSION_MAX_LAG_MS.
   */
  ADMISSION_MAX_LAG_MS: z.coerce.number().int().min(0).max(86_400_000).optional(),
  /**
   * Milliseconds: from this age of lag on, each command waits at the door before it runs, from
   * nothing here to 1 s at ADMISSION_MAX_LAG_MS (backpressure: clients that wait for their answers
   * slow down to what the readers take, before any is refused). 0, or not below
   * ADMISSION_MAX_LAG_MS: no waits, only refusals.
   */
  ADMISSION_DELAY_FROM_LAG_MS: z.coerce.number().int().min(0).max(86_400_000).default(500),
  /** Events: commands are shed while a reader has more than this many yet to take (until under half); 0: no bound. */
  ADMISSION_MAX_LAG_EVENTS: z.coerce.number().int().min(0).max(1_000_000_000).default(0),
  /** Milliseconds between two measurements of the readers' lag (one statement each, only while commands arrive). */
  ADMISSION_SAMPLE_MS: z.coerce.number().int().min(50).max(10_000).default(250),
  /**
   * How long an `Idempotency-Key` is kept after its request ran, at least: a retry within it
   * replays, one after it is pruned runs as a new request (src/http/idempotency).
   */
  IDEMPOTENCY_KEY_RETENTION_HOURS: retentionHours.default(24),
  ...retentionSettings,
  ...httpSecuritySettings,
  SHUTDOWN_TIMEOUT_MS: shutdownTimeoutMs,
});

/**
 * The floor of ADMISSION_MAX_LAG_MS's default. A reaction's checkpoint follows its work once a
 * second (a low-water mark), so a reader that keeps up shows up to about a second of lag; a bound
 * near that would shed commands in normal operation.
 */
export const MIN_DEFAULT_ADMISSION_MAX_LAG_MS = 2_000;

type ParsedEnvironment = z.infer<typeof environmentSchema>;
export type Environment = Omit<ParsedEnvironment, 'ADMISSION_MAX_LAG_MS'> & { ADMISSION_MAX_LAG_MS: number };

export class InvalidEnvironmentError extends Error {}

/**
 * Validates the process environment once, at start; the message names every bad variable. A
 * variable set to the empty string (`PORT=`) is said to be empty, not reported by the check it
 * failed ("expected number to be >=1"): an empty value is never valid, and unsetting it gives
 * the default.
 */
export function parseEnvironment<T extends z.ZodType>(schema: T, raw: Record<string, string | undefined>): z.infer<T> {
  const empty = (name: string) => `${name}: set but empty (give it a value, or unset it to use its default)`;
  // Checked apart from the schema: a number coerces '' to 0, which a bound takes for "no bound".
  const emptyNames = Object.keys((schema as unknown as { shape?: Record<string, unknown> }).shape ?? {}).filter((name) => raw[name] === '');
  // An empty value is reported as such alone: the schema parses the others as if it were unset.
  const result = schema.safeParse(emptyNames.length === 0 ? raw : Object.fromEntries(Object.entries(raw).filter(([name]) => !emptyNames.includes(name))));
  if (result.success && emptyNames.length === 0) return result.data;
  const invalid = result.success ? [] : result.error.issues.filter((issue) => !emptyNames.includes(issue.path.join('.')));
  const problems = [
    ...emptyNames.map(empty),
    ...invalid.map((issue) => {
      const name = issue.path.join('.');
      return raw[name] === '' ? empty(name) : `${name}: ${issue.message}`;
    }),
  ];
  throw new InvalidEnvironmentError(`Invalid configuration: ${problems.join('; ')}`);
}

/**
 * Settings that are each valid but work against each other, as warnings for the start-up log:
 * the process starts anyway (a demo may want an order to time out soon, see the README).
 */
export function environmentAdvice(environment: Pick<Environment, 'LEASE_SESSION_TIMEOUT_MS' | 'ORDER_CONFIRMATION_TIMEOUT_MS' | 'REACTIONS_ENABLED'>): string[] {
  const advice: string[] = [];
  if (environment.REACTIONS_ENABLED && environment.LEASE_SESSION_TIMEOUT_MS >= environment.ORDER_CONFIRMATION_TIMEOUT_MS) {
    advice.push(
      `LEASE_SESSION_TIMEOUT_MS (${environment.LEASE_SESSION_TIMEOUT_MS}) is not under ORDER_CONFIRMATION_TIMEOUT_MS ` +
        `(${environment.ORDER_CONFIRMATION_TIMEOUT_MS}): the orders of a process that freezes holding the credit reaction may be ` +
        'rejected for timeout before another process takes them over; keep it well under',
    );
  }
  return advice;
}

export function loadEnvironment(raw: Record<string, string | undefined>): Environment {
  const parsed = parseEnvironment(environmentSchema, raw);
  return {
    ...parsed,
    ADMISSION_MAX_LAG_MS:
      parsed.ADMISSION_MAX_LAG_MS ?? Math.max(MIN_DEFAULT_ADMISSION_MAX_LAG_MS, Math.round(parsed.ORDER_CONFIRMATION_TIMEOUT_MS / 10)),
  };
}
