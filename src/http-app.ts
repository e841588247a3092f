import type { Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import { AdmissionControl, registerAdmissionControl } from './admission/admission-control';
import { createApiDocument } from './api-document';
import { AppModule } from './app.module';
import { AuthenticationSettings, resolveAuthentication } from './auth/authentication-settings';
import { Environment } from './config/environment';
import { configureHttpBasics, createFastifyAdapter } from './http/http-basics';
import { useProcessLogger } from './logging/process-logger';
import { logEveryRequest } from './logging/request-logging';
import { configureSecurityHeaders } from './http/security-headers';
import { pageConstraintStrategy } from './flows/http/flow-page';

/**
 * Builds the API exactly as `main.ts` runs it; the e2e tests use the same function, and may add
 * modules of their own (e.g. an event handler under test). `authentication` is resolved from the
 * environment unless given (main.ts resolves it before anything else, to refuse a bad one early).
 */
export async function createHttpApp(
  environment: Environment,
  extraModules: Type[] = [],
  authentication: AuthenticationSettings = resolveAuthentication(environment, environment.HOST),
): Promise<NestFastifyApplication> {
  // First: what building the modules logs goes through it too.
  const logger = useProcessLogger('api', environment);
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(environment, extraModules, authentication),
    createFastifyAdapter({
      bodyLimitBytes: environment.HTTP_BODY_LIMIT_BYTES,
      requestTimeoutMs: environment.HTTP_REQUEST_TIMEOUT_MS,
      connectionTimeoutMs: environment.HTTP_CONNECTION_TIMEOUT_MS,
    }),
    { logger },
  );
  await configureHttpApp(app, environment);
  return app;
}

/**
 * Hooks in the order they run on a request: request logging, security headers, then CORS (a preflight is answered
 * there), then correlation id and media type, then load shedding (cheapest refusal first, before
 * any token is verified), then Nest's guards (rate limit, access), pipes and handlers.
 */
async function configureHttpApp(app: NestFastifyApplication, environment: Environment): Promise<void> {
  // Before any route is registered (at init): GET /flows/{correlationId} answers a browser with its page.
  app.getHttpAdapter().getInstance().addConstraintStrategy(pageConstraintStrategy);
  logEveryRequest(app);
  configureSecurityHeaders(app, environment.CORS_ORIGINS);
  configureHttpBasics(app);
  registerAdmissionControl(app.getHttpAdapter().getInstance(), app.get(AdmissionControl));
  setUpApiDocs(app);
}

function setUpApiDocs(app: NestFastifyApplication): void {
  // persistAuthorization: the token pasted into Authorize survives a reload of the page;
  // showExtensions: each operation shows its x-required-scopes.
  SwaggerModule.setup('docs', app, createApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    swaggerOptions: { persistAuthorization: true, showExtensions: true },
  });
}
