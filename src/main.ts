import { releaseEarlyStopSignals } from './shared/early-stop-signals';
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { resolveAuthentication } from './auth/authentication-settings';
import { InvalidEnvironmentError, loadEnvironment } from './config/environment';
import { ensureDatabaseExists } from './database/ensure-database';
import { createHttpApp } from './http-app';
import { AfterListening } from './shared/after-listening';
import { GracefulShutdown } from './shared/graceful-shutdown';

async function bootstrap(): Promise<void> {
  const environment = loadEnvironment(process.env);
  const authentication = resolveAuthentication(environment);
  const shutdown = GracefulShutdown.listen({
    timeoutMs: environment.SHUTDOWN_TIMEOUT_MS,
    applicationParts: 'relay, reactions, projections and broker client',
  });
  releaseEarlyStopSignals();
  await ensureDatabaseExists(environment.DATABASE_URL);
  const app = await createHttpApp(environment, [], authentication);
  await app.listen(environment.PORT, environment.HOST);
  const dataSource = app.get(DataSource);
  // Attached before the readers start, so a stop signal while they start shuts down gracefully.
  shutdown.attach(app, [{ name: 'database pool', isOpen: () => dataSource.isInitialized }]);
  await app.get(AfterListening).start();
  new Logger('Bootstrap').log(`API on http://${environment.HOST}:${environment.PORT} (Swagger UI at /docs)`);
}

bootstrap().catch((error: unknown) => {
  if (error instanceof InvalidEnvironmentError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    process.stderr.write(`failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  process.exit(1);
});
