import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AuthenticationSettings, resolveAuthentication } from '../auth/authentication-settings';
import { configureHttpBasics, createFastifyAdapter } from '../http/http-basics';
import { configureSecurityHeaders } from '../http/security-headers';
import { useProcessLogger } from '../logging/process-logger';
import { logEveryRequest } from '../logging/request-logging';
import { brokerTopology } from '../messaging/broker-topology';
import type { ConsumerEnvironment } from './config/consumer-environment';
import { ConsumerModule } from './consumer.module';
import { DeliveryHandler } from './messaging/delivery-handler';
import { IntegrationEventServer } from './messaging/integration-event-server';

/**
 * The consumer as `src/consumer/main.ts` runs it: RMQ microservice plus its own HTTP side, which
 * follows the API's rules (bearer tokens and scopes, rate limit, security headers, CORS, timeouts).
 */
export async function createConsumerApp(
  environment: ConsumerEnvironment,
  authentication: AuthenticationSettings = resolveAuthentication(environment, environment.CONSUMER_HOST),
): Promise<NestFastifyApplication> {
  // First: what building the modules logs goes through it too.
  const logger = useProcessLogger('consumer', environment);
  const topology = brokerTopology(environment.BROKER_PREFIX, environment.CONSUMER_RETRY_DELAYS_MS);
  const server = new IntegrationEventServer(topology, {
    url: environment.RABBITMQ_URL,
    prefetch: environment.CONSUMER_PREFETCH,
    drainTimeoutMs: environment.CONSUMER_DRAIN_TIMEOUT_MS,
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    ConsumerModule.forRoot(environment, topology, server, authentication),
    createFastifyAdapter({
      bodyLimitBytes: 65_536,
      requestTimeoutMs: environment.HTTP_REQUEST_TIMEOUT_MS,
      connectionTimeoutMs: environment.HTTP_CONNECTION_TIMEOUT_MS,
    }),
    { logger },
  );
  server.deliverTo(app.get(DeliveryHandler));
  logEveryRequest(app);
  configureSecurityHeaders(app, environment.CORS_ORIGINS);
  configureHttpBasics(app);
  // The server hands deliveries to DeliveryHandler itself: no HTTP pipe, guard or problem+json
  // filter stands between them (the handler validates, settles and parks every message).
  app.connectMicroservice({ strategy: server });
  return app;
}
