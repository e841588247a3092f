import { releaseEarlyStopSignals } from '../shared/early-stop-signals';
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { resolveAuthentication } from '../auth/authentication-settings';
import { InvalidEnvironmentError } from '../config/environment';
import { ensureDatabaseExists } from '../database/ensure-database';
import { GracefulShutdown } from '../shared/graceful-shutdown';
import { loadConsumerEnvironment } from './config/consumer-environment';
import { createConsumerApp } from './consumer-app';
import { TopologyMismatchError } from './messaging/topology-mismatch.error';

async function bootstrap(): Promise<void> {
  const environment = loadConsumerEnvironment(process.env);
  const authentication = resolveAuthentication(environment);
  const shutdown = GracefulShutdown.listen({
    timeoutMs: environment.SHUTDOWN_TIMEOUT_MS,
    applicationParts: 'RMQ consumer and its broker connection',
  });
  releaseEarlyStopSignals();
  await ensureDatabaseExists(environment.CONSUMER_DATABASE_URL);
  const app = await createConsumerApp(environment, authentication);
  await app.startAllMicroservices();
  await app.listen(environment.CONSUMER_PORT, environment.CONSUMER_HOST);
  const dataSource = app.get(DataSource);
  shutdown.attach(app, [{ name: 'database pool', isOpen: () => dataSource.isInitialized }]);
  new Logger('Consumer').log(
    `consuming ${environment.BROKER_PREFIX}.consumer; HTTP on http://${environment.CONSUMER_HOST}:${environment.CONSUMER_PORT}`,
  );
}

bootstrap().catch((error: unknown) => {
  if (error instanceof InvalidEnvironmentError || error instanceof TopologyMismatchError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    process.stderr.write(`consumer failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  process.exit(1);
});
