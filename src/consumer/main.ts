import { releaseEarlyStopSignals } from '../shared/early-stop-signals';
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { resolveAuthentication } from '../auth/authentication-settings';
import { InvalidEnvironmentError } from '../config/environment';
import { PendingMigrationsError, prepareDatabaseAtStart } from '../database/migration-check';
import { MigrationLockTimeoutError } from '../database/migration-lock';
import { DatabaseUnreachableError } from '../database/ensure-database';
import { useProcessLogger } from '../logging/process-logger';
import { logStartFailure } from '../logging/start-failure';
import { logBroker, logDatabase } from '../logging/start-up-lines';
import { AfterListening } from '../shared/after-listening';
import { GracefulShutdown } from '../shared/graceful-shutdown';
import { misspelledSettings } from '../config/misspelled-settings';
import { consumerEnvironmentSchema, loadConsumerEnvironment } from './config/consumer-environment';
import { createConsumerApp } from './consumer-app';
import { CONSUMER_SCHEMA } from './consumer-schema';
import { TopologyMismatchError } from './messaging/topology-mismatch.error';

async function bootstrap(): Promise<void> {
  const environment = loadConsumerEnvironment(process.env);
  useProcessLogger('consumer', environment);
  for (const warning of misspelledSettings(process.env, Object.keys(consumerEnvironmentSchema.shape))) new Logger('Configuration').warn(warning);
  const authentication = resolveAuthentication(environment, environment.CONSUMER_HOST);
  const shutdown = GracefulShutdown.listen({
    timeoutMs: environment.SHUTDOWN_TIMEOUT_MS,
    applicationParts: 'RMQ consumer and its broker connection',
  });
  releaseEarlyStopSignals();
  // Creates the database if missing (DATABASE_MIGRATIONS=run; the migrations run as the app is
  // built), or refuses to start while a migration is pending (check).
  await prepareDatabaseAtStart(CONSUMER_SCHEMA, {
    url: environment.CONSUMER_DATABASE_URL,
    migrations: environment.DATABASE_MIGRATIONS,
    waitMs: environment.MIGRATION_LOCK_WAIT_MS,
    replyTimeoutMs: environment.DATABASE_STATEMENT_REPLY_TIMEOUT_MS,
  });
  const app = await createConsumerApp(environment, authentication);
  // The HTTP side first: while RabbitMQ cannot be reached the consumer waits for it (and keeps
  // trying), live and answering /health/ready 503, rather than unreachable to its probes.
  await app.listen(environment.CONSUMER_PORT, environment.CONSUMER_HOST);
  const dataSource = app.get(DataSource);
  shutdown.attach(app, [{ name: 'database pool', isOpen: () => dataSource.isInitialized }]);
  const started = await shutdown.finishStart(async () => {
    await app.startAllMicroservices();
    await logDatabase(environment.CONSUMER_DATABASE_URL, dataSource, environment.DATABASE_MIGRATIONS);
    logBroker(environment.RABBITMQ_URL, `queue ${environment.BROKER_PREFIX}.consumer bound to exchange ${environment.BROKER_PREFIX}.integration`);
    await app.get(AfterListening).start();
  });
  if (started) {
    new Logger('Consumer').log(`consuming ${environment.BROKER_PREFIX}.consumer; HTTP on http://${environment.CONSUMER_HOST}:${environment.CONSUMER_PORT}`);
  }
}

bootstrap().catch((error: unknown) => {
  const expected =
    error instanceof InvalidEnvironmentError || error instanceof TopologyMismatchError || error instanceof PendingMigrationsError ||
    error instanceof MigrationLockTimeoutError ||
    error instanceof DatabaseUnreachableError;
  logStartFailure('consumer', 'consumer failed to start', error, expected);
  process.exit(1);
});
