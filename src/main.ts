import { releaseEarlyStopSignals } from './shared/early-stop-signals';
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { resolveAuthentication } from './auth/authentication-settings';
import { environmentAdvice, environmentSchema, InvalidEnvironmentError, loadEnvironment } from './config/environment';
import { misspelledSettings } from './config/misspelled-settings';
import { API_SCHEMA } from './database/api-schema';
import { PendingMigrationsError, prepareDatabaseAtStart } from './database/migration-check';
import { MigrationLockTimeoutError } from './database/migration-lock';
import { DatabaseUnreachableError } from './database/ensure-database';
import { createHttpApp } from './http-app';
import { logStartFailure } from './logging/start-failure';
import { useProcessLogger } from './logging/process-logger';
import { logBroker, logDatabase } from './logging/start-up-lines';
import { IntegrationEventPublisher } from './messaging/integration-event-publisher';
import { AfterListening } from './shared/after-listening';
import { GracefulShutdown } from './shared/graceful-shutdown';

async function bootstrap(): Promise<void> {
  const environment = loadEnvironment(process.env);
  useProcessLogger('api', environment);
  for (const advice of [...misspelledSettings(process.env, Object.keys(environmentSchema.shape)), ...environmentAdvice(environment)]) new Logger('Configuration').warn(advice);
  const authentication = resolveAuthentication(environment, environment.HOST);
  const shutdown = GracefulShutdown.listen({
    timeoutMs: environment.SHUTDOWN_TIMEOUT_MS,
    applicationParts: 'relay, reactions, projections and broker client',
  });
  releaseEarlyStopSignals();
  // Creates the database if missing (DATABASE_MIGRATIONS=run; the migrations run as the app is
  // built), or refuses to start while a migration is pending (check).
  await prepareDatabaseAtStart(API_SCHEMA, {
    url: environment.DATABASE_URL,
    migrations: environment.DATABASE_MIGRATIONS,
    waitMs: environment.MIGRATION_LOCK_WAIT_MS,
    replyTimeoutMs: environment.DATABASE_STATEMENT_REPLY_TIMEOUT_MS,
  });
  const app = await createHttpApp(environment, [], authentication);
  await app.listen(environment.PORT, environment.HOST);
  const dataSource = app.get(DataSource);
  // Attached before the readers start, so a stop signal while they start shuts down gracefully.
  shutdown.attach(app, [{ name: 'database pool', isOpen: () => dataSource.isInitialized }]);
  const started = await shutdown.finishStart(async () => {
    await logDatabase(environment.DATABASE_URL, dataSource, environment.DATABASE_MIGRATIONS);
    logBroker(environment.RABBITMQ_URL, `publishing to exchange ${app.get(IntegrationEventPublisher).topology.exchange}`);
    await app.get(AfterListening).start();
  });
  if (started) new Logger('Bootstrap').log(`API on http://${environment.HOST}:${environment.PORT} (Swagger UI at /docs, the event catalogue at /asyncapi)`);
}

bootstrap().catch((error: unknown) => {
  const expected = error instanceof InvalidEnvironmentError || error instanceof PendingMigrationsError ||
    error instanceof MigrationLockTimeoutError ||
    error instanceof DatabaseUnreachableError;
  logStartFailure('api', 'failed to start', error, expected);
  process.exit(1);
});
