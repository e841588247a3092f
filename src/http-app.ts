import type { Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AdmissionControl, registerAdmissionControl } from './admission/admission-control';
import { AppModule } from './app.module';
import { BEARER_SCHEME } from './auth/access.decorators';
import { AuthenticationSettings, resolveAuthentication } from './auth/authentication-settings';
import { Environment } from './config/environment';
import { CORRELATION_ID_HEADER } from './http/correlation-id';
import { configureHttpBasics, createFastifyAdapter } from './http/http-basics';
import { FieldError, ProblemDetails } from './http/problem-details';
import { useProcessLogger } from './logging/process-logger';
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
  authentication: AuthenticationSettings = resolveAuthentication(environment),
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
 * Hooks in the order they run on a request: security headers, then CORS (a preflight is answered
 * there), then correlation id and media type, then load shedding (cheapest refusal first, before
 * any token is verified), then Nest's guards (rate limit, access), pipes and handlers.
 */
async function configureHttpApp(app: NestFastifyApplication, environment: Environment): Promise<void> {
  // Before any route is registered (at init): GET /flows/{correlationId} answers a browser with its page.
  app.getHttpAdapter().getInstance().addConstraintStrategy(pageConstraintStrategy);
  configureSecurityHeaders(app, environment.CORS_ORIGINS);
  configureHttpBasics(app);
  registerAdmissionControl(app.getHttpAdapter().getInstance(), app.get(AdmissionControl));
  setUpApiDocs(app);
}

function setUpApiDocs(app: NestFastifyApplication): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Event-driven NestJS monolith')
      .setDescription(
        'Users and Orders on a CQRS bus over a PostgreSQL event store. Money is an integer in minor units. ' +
          'Every response carries `X-Correlation-Id`; errors are RFC 9457 `application/problem+json`. ' +
          'Every operation but the health checks needs a bearer token (button Authorize) granting the scopes listed under its ' +
          '`x-required-scopes` (401 without a valid token, 403 without the scopes).',
      )
      .setVersion('1')
      .addGlobalParameters({
        name: CORRELATION_ID_HEADER,
        in: 'header',
        required: false,
        description: 'Correlates this request with the events it causes; generated when absent',
        schema: { type: 'string', maxLength: 128 },
      })
      .addBearerAuth(
        {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'An access token whose `scope` claim grants what the operation needs (see `x-required-scopes` and its 403). ' +
            'In development mode (`npm start`) paste the token it printed.',
        },
        BEARER_SCHEME,
      )
      .build(),
    { extraModels: [ProblemDetails, FieldError] },
  );
  // persistAuthorization: the token pasted into Authorize survives a reload of the page;
  // showExtensions: each operation shows its x-required-scopes.
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json', swaggerOptions: { persistAuthorization: true, showExtensions: true } });
}

