import { Client } from 'pg';
import { ConsumerProcess, freePort } from './consumer-process';
import { startTestApp, type TestApp } from './test-app';
import { deleteTopology, testTopology } from './test-broker';

/** The API in this process and the consumer as a built child process on its broker prefix, with a client on the consumer's database. */
export interface ApiWithConsumer {
  api: TestApp;
  consumer: ConsumerProcess;
  consumerDb: Client;
  /** Stops both, drops their databases and deletes their topology, retry queues of `retryDelaysMs` included. */
  close(): Promise<void>;
}

export async function startApiWithConsumer(options: {
  apiEnv?: Record<string, string>;
  consumerMaxAttempts: number;
  retryDelaysMs: readonly number[];
}): Promise<ApiWithConsumer> {
  // The API asks the consumer for its effects (GET /flows): it is told the consumer's URL up front.
  const consumerPort = await freePort();
  const api = await startTestApp({ env: { CONSUMER_URL: `http://127.0.0.1:${consumerPort}`, ...options.apiEnv } });
  let consumer: ConsumerProcess | undefined;
  let consumerDb: Client | undefined;
  const close = async () => {
    await consumerDb?.end();
    await consumer?.stop();
    await api.close();
    // The consumer declared retry queues of its own delays.
    await deleteTopology(testTopology(api.brokerPrefix, [...options.retryDelaysMs])).catch(() => undefined);
  };
  try {
    consumer = await ConsumerProcess.start(
      api.brokerPrefix,
      { CONSUMER_RETRY_DELAYS_MS: options.retryDelaysMs.join(','), CONSUMER_MAX_ATTEMPTS: String(options.consumerMaxAttempts) },
      { port: consumerPort },
    );
    consumerDb = new Client({ connectionString: consumer.databaseUrl });
    await consumerDb.connect();
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
  return { api, consumer, consumerDb, close };
}
