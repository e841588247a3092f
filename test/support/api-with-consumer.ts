import { Client } from 'pg';
import { dropDatabase } from '../../src/database/ensure-database';
import { ApiProcess } from './api-process';
import { ConsumerProcess, freePort } from './consumer-process';
import { startTestApp, type TestApp, type TestAppOptions } from './test-app';
import { deleteTopology, testTopology, uniqueBrokerPrefix } from './test-broker';
import { createTestDatabase } from './test-database';

/** How the consumer process runs: its retry ladder (unset: the consumer's defaults) and more variables. */
export interface ConsumerOptions {
  /** CONSUMER_MAX_ATTEMPTS. */
  consumerMaxAttempts?: number;
  /** CONSUMER_RETRY_DELAYS_MS, which also names the retry queues removed on close. */
  retryDelaysMs?: readonly number[];
  /** Variables over the test defaults; undefined unsets one. */
  consumerEnv?: Record<string, string | undefined>;
  /** ConsumerProcess.start's `databaseAddress`: the URL the process is given for its database (a TCP proxy's). */
  databaseAddress?: (databaseUrl: string) => string;
}

/** The consumer as a built child process on one broker prefix, with a client on its database. */
export interface ConsumerWithClient {
  consumer: ConsumerProcess;
  /** Connected straight to the consumer's database (never through `databaseAddress`). */
  consumerDb: Client;
  /** Ends the client, stops the process, drops its database and deletes the prefix's topology, retry queues included. */
  close(): Promise<void>;
}

/** The API in this process and the consumer as a built child process on its broker prefix, with a client on the consumer's database. */
export interface ApiWithConsumer extends ConsumerWithClient {
  api: TestApp;
  /** Stops both, drops their databases and deletes their topology, retry queues included. */
  close(): Promise<void>;
}

function processEnv({ consumerMaxAttempts, retryDelaysMs, consumerEnv }: ConsumerOptions): Record<string, string | undefined> {
  return {
    ...(retryDelaysMs && { CONSUMER_RETRY_DELAYS_MS: retryDelaysMs.join(',') }),
    ...(consumerMaxAttempts !== undefined && { CONSUMER_MAX_ATTEMPTS: String(consumerMaxAttempts) }),
    ...consumerEnv,
  };
}

/** Starts the consumer process on `brokerPrefix` (none of the API's), resolving once it is healthy and the client connected. */
export async function startConsumerWithClient(brokerPrefix: string, options: ConsumerOptions = {}): Promise<ConsumerWithClient> {
  const consumer = await ConsumerProcess.start(brokerPrefix, processEnv(options), { databaseAddress: options.databaseAddress });
  const consumerDb = new Client({ connectionString: consumer.databaseUrl });
  const close = async () => {
    await consumerDb.end();
    await consumer.stop();
    await deleteTopology(testTopology(brokerPrefix, options.retryDelaysMs && [...options.retryDelaysMs])).catch(() => undefined);
  };
  try {
    await consumerDb.connect();
  } catch (error) {
    await consumer.stop().catch(() => undefined);
    throw error;
  }
  return { consumer, consumerDb, close };
}

/**
 * Starts the API (startTestApp with `apiEnv` over its defaults, on `apiDatabaseUrl` and
 * `brokerPrefix` when given: close drops that database too) and then the consumer on its broker
 * prefix. The API is told the consumer's URL up front (CONSUMER_URL): GET /flows asks it.
 */
export async function startApiWithConsumer(
  options: ConsumerOptions & { apiEnv?: TestAppOptions['env']; apiDatabaseUrl?: string; brokerPrefix?: string } = {},
): Promise<ApiWithConsumer> {
  const consumerPort = await freePort();
  const api = await startTestApp({
    databaseUrl: options.apiDatabaseUrl,
    brokerPrefix: options.brokerPrefix,
    env: { CONSUMER_URL: `http://127.0.0.1:${consumerPort}`, ...options.apiEnv },
  });
  let consumer: ConsumerProcess | undefined;
  let consumerDb: Client | undefined;
  const close = async () => {
    await consumerDb?.end();
    await consumer?.stop();
    await api.close();
    // The consumer declared retry queues of its own delays.
    await deleteTopology(testTopology(api.brokerPrefix, options.retryDelaysMs && [...options.retryDelaysMs])).catch(() => undefined);
  };
  try {
    consumer = await ConsumerProcess.start(api.brokerPrefix, processEnv(options), { port: consumerPort, databaseAddress: options.databaseAddress });
    consumerDb = new Client({ connectionString: consumer.databaseUrl });
    await consumerDb.connect();
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
  return { api, consumer, consumerDb, close };
}

/** The API and the consumer as built child processes on a new broker prefix, each on a new database of its own. */
export interface BuiltApiWithConsumer {
  api: ApiProcess;
  consumer: ConsumerProcess;
  apiDatabaseUrl: string;
  brokerPrefix: string;
  /** Stops both (SIGTERM), drops both databases and deletes the prefix's topology. */
  close(): Promise<void>;
}

/**
 * Starts the consumer process and then the API process (the consumer first: it declares the
 * queue the API's relay publishes into). `apiEnv` / `consumerEnv`: variables over ApiProcess's
 * and ConsumerProcess's defaults, the API's DATABASE_URL and BROKER_PREFIX set to its own.
 */
export async function startBuiltApiWithConsumer(
  options: { apiEnv?: Record<string, string | undefined>; consumerEnv?: Record<string, string | undefined> } = {},
): Promise<BuiltApiWithConsumer> {
  const brokerPrefix = uniqueBrokerPrefix();
  const apiDatabaseUrl = await createTestDatabase();
  let api: ApiProcess | undefined;
  let consumer: ConsumerProcess | undefined;
  const close = async () => {
    await api?.kill('SIGTERM');
    await consumer?.stop();
    await dropDatabase(apiDatabaseUrl);
    await deleteTopology(testTopology(brokerPrefix)).catch(() => undefined);
  };
  try {
    consumer = await ConsumerProcess.start(brokerPrefix, options.consumerEnv);
    api = await ApiProcess.start({ DATABASE_URL: apiDatabaseUrl, BROKER_PREFIX: brokerPrefix, ...options.apiEnv });
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
  return { api, consumer, apiDatabaseUrl, brokerPrefix, close };
}
