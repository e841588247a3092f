import type { Type } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Client } from 'pg';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { loadEnvironment } from '../../src/config/environment';
import { loadConsumerEnvironment } from '../../src/consumer/config/consumer-environment';
import { createConsumerApp } from '../../src/consumer/consumer-app';
import { dropDatabase } from '../../src/database/ensure-database';
import { createHttpApp } from '../../src/http-app';
import { brokerTopology, type BrokerTopology } from '../../src/messaging/broker-topology';
import { IntegrationEventPublisher } from '../../src/messaging/integration-event-publisher';
import { AfterListening } from '../../src/shared/after-listening';
import { OpenApiResponseCheck, withResponseCheck } from './openapi-response-check';
import { TEST_AUTH_ENV, testToken } from './test-auth';
import { deleteAtFileEnd, deleteTopology, TEST_RABBITMQ_URL, uniqueBrokerPrefix } from './test-broker';
import { createTestDatabase } from './test-database';

export interface TestApp {
  app: NestFastifyApplication;
  databaseUrl: string;
  /** This app's own exchange and queues (unique prefix), removed on close (at the run's end with `keepDatabase`: deleteAtFileEnd). */
  topology: BrokerTopology;
  brokerPrefix: string;
  db: DataSource;
  /**
   * Requests to the app, with a bearer token of every scope (TEST_AUTH) unless `token` says
   * otherwise: `null` sends none, a string sends that one. Every response is checked against the
   * app's OpenAPI document (openapi-response-check.ts): one it does not describe fails the test.
   */
  http(options?: { token?: string | null }): ReturnType<typeof request.agent>;
  /** The check `http()` runs on every response, built from the document this app serves. */
  responseCheck: OpenApiResponseCheck;
  /**
   * Stops the app; drops its database and deletes its topology, unless `keepDatabase` (to restart
   * on the same data and broker prefix): then the topology goes at the end of the file
   * (deleteAtFileEnd) unless an app restarted on it deletes it first.
   */
  close(options?: { keepDatabase?: boolean }): Promise<void>;
}

export interface TestAppOptions {
  /** An existing database (then dropped on close like a new one); unset, a new one. */
  databaseUrl?: string;
  brokerPrefix?: string;
  /** Variables over the test defaults; undefined unsets one (e.g. AUTH_JWT_SECRET, for a JWKS). */
  env?: Record<string, string | undefined>;
  extraModules?: Type[];
  /** False: build the app as if it did not listen yet (nothing reads the store). */
  startReaders?: boolean;
}

/** The real API, built by the same function as `main.ts`, on its own throwaway database. */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const databaseUrl = options.databaseUrl ?? (await createTestDatabase());
  const brokerPrefix = options.brokerPrefix ?? uniqueBrokerPrefix();
  const environment = loadEnvironment({
    DATABASE_URL: databaseUrl,
    RABBITMQ_URL: TEST_RABBITMQ_URL,
    BROKER_PREFIX: brokerPrefix,
    LOG_LEVEL: 'error',
    PROJECTION_IDLE_POLL_MS: '20',
    DATABASE_POOL_SIZE: '30',
    // Many tests make a reader lag on purpose (a held lock, readers not started) to examine
    // something else; admission control would answer their commands 503. Its own tests turn it on.
    ADMISSION_CONTROL: 'off',
    ...TEST_AUTH_ENV,
    ...options.env,
  });
  const app = await createHttpApp(environment, options.extraModules);
  try {
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    // As main.ts does once the server listens: readers, the relay and the deadlines start now.
    if (options.startReaders ?? true) await app.get(AfterListening).start();
  } catch (error) {
    // A start refused half-way has opened connections (the LISTEN one reconnects on its own
    // when its database goes): close them, and drop the database and the topology this call made.
    await app.close().catch(() => undefined);
    if (!options.databaseUrl) await dropDatabase(databaseUrl).catch(() => undefined);
    if (!options.brokerPrefix) await deleteTopology(brokerTopology(brokerPrefix, environment.CONSUMER_RETRY_DELAYS_MS)).catch(() => undefined);
    throw error;
  }
  const topology = app.get(IntegrationEventPublisher).topology;
  const allScopes = await testToken();
  const responseCheck = new OpenApiResponseCheck((await request(app.getHttpServer()).get('/docs-json').expect(200)).body);
  return {
    app,
    databaseUrl,
    topology,
    brokerPrefix,
    db: app.get(DataSource),
    responseCheck,
    http: ({ token = allScopes } = {}) => {
      const agent = withResponseCheck(request.agent(app.getHttpServer()), responseCheck);
      return token === null ? agent : agent.set('authorization', `Bearer ${token}`);
    },
    async close({ keepDatabase = false } = {}) {
      await app.close();
      if (keepDatabase) {
        deleteAtFileEnd(brokerPrefix);
        return;
      }
      try {
        await dropDatabase(databaseUrl);
      } finally {
        await deleteTopology(topology).catch(() => undefined);
      }
    },
  };
}

export interface TestConsumerApp {
  app: NestFastifyApplication;
  databaseUrl: string;
  /** A client on the consumer's database, connected once the app consumes. */
  db: Client;
  /** Closes the app, once however often it is called (a test may stop it before `close`). */
  stopApp(): Promise<void>;
  /** Stops the app, ends the client and drops the database; the broker prefix's topology stays, the caller's. */
  close(): Promise<void>;
}

/**
 * The consumer app in this process (what jest instruments, e.g. for traces), built by the same
 * function as its `main.ts`, on its own throwaway database and consuming from `brokerPrefix`.
 * `env`: variables over the test defaults (LOG_LEVEL error, TEST_AUTH).
 */
export async function startTestConsumerApp(brokerPrefix: string, env: Record<string, string> = {}): Promise<TestConsumerApp> {
  const databaseUrl = await createTestDatabase();
  let app: NestFastifyApplication | undefined;
  let stopping: Promise<void> | undefined;
  const db = new Client({ connectionString: databaseUrl });
  const stopApp = () => (stopping ??= app ? app.close() : Promise.resolve());
  const close = async () => {
    await stopApp();
    await db.end().catch(() => undefined); // never connected when the start failed
    await dropDatabase(databaseUrl);
  };
  try {
    app = await createConsumerApp(
      loadConsumerEnvironment({ CONSUMER_DATABASE_URL: databaseUrl, RABBITMQ_URL: TEST_RABBITMQ_URL, BROKER_PREFIX: brokerPrefix, LOG_LEVEL: 'error', ...TEST_AUTH_ENV, ...env }),
    );
    await app.startAllMicroservices();
    await db.connect();
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
  return { app, databaseUrl, db, stopApp, close };
}

/** Retries `check` until it stops throwing: read models are eventually consistent. */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}
