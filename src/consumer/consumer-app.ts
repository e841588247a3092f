import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { configureHttpBasics, createFastifyAdapter } from '../http/http-basics';
import { useProcessLogger } from '../logging/process-logger';
import { brokerTopology } from '../messaging/broker-topology';
import type { ConsumerEnvironment } from './config/consumer-environment';
import { ConsumerModule } from './consumer.module';
import { IntegrationEventServer } from './messaging/integration-event-server';

/** The consumer as `src/consumer/main.ts` runs it: RMQ microservice plus its own HTTP side. */
export async function createConsumerApp(environment: ConsumerEnvironment): Promise<NestFastifyApplication> {
  // First: what building the modules logs goes through it too.
  const logger = useProcessLogger('consumer', environment);
  const topology = brokerTopology(environment.BROKER_PREFIX, environment.CONSUMER_RETRY_DELAYS_MS);
  const server = new IntegrationEventServer(topology, {
    url: environment.RABBITMQ_URL,
    prefetch: environment.CONSUMER_PREFETCH,
    drainTimeoutMs: environment.CONSUMER_DRAIN_TIMEOUT_MS,
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    ConsumerModule.forRoot(environment, topology, server),
    createFastifyAdapter(65_536),
    { logger },
  );
  configureHttpBasics(app);
  // Not inheritAppConfig: the HTTP pipes and problem+json filter must not stand between a
  // delivery and DeliveryHandler, which validates, settles and parks every message itself.
  app.connectMicroservice({ strategy: server });
  return app;
}
