import { releaseEarlyStopSignals } from '../shared/early-stop-signals';
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { InvalidEnvironmentError } from '../config/environment';
import { ensureDatabaseExists } from '../database/ensure-database';
import { AfterListening } from '../shared/after-listening';
import { GracefulShutdown } from '../shared/graceful-shutdown';
import { loadConsumerEnvironment } from './config/consumer-environment';
import { createConsumerApp } from './consumer-app';
import { TopologyMismatchError } from './messaging/topology-mismatch.error';

async function bootstrap(): Promise<void> {
  const environment = loadConsumerEnvironment(process.env);
  const shutdown = GracefulShutdown.listen({
    timeoutMs: environment.SHUTDOWN_TIMEOUT_MS,
    applicationParts: 'RMQ consumer and its broker connection',
  });
  releaseEarlyStopSignals();
  await ensureDatabaseExists(environment.CONSUMER_DATABASE_URL);
  const app = await createConsumerApp(environment);
  await app.startAllMicroservices();
  await app.listen(environment.CONSUMER_PORT, environment.HOST);
  const dataSource = app.get(DataSource);
  shutdown.attach(app, [{ name: 'database pool', isOpen: () => dataSource.isInitialized }]);
  await app.get(AfterListening).start();
  new Logger('Consumer').log(
    `consuming ${environment.BROKER_PREFIX}.consumer; HTTP on http://${environment.HOST}:${environment.CONSUMER_PORT}`,
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
