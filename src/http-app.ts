import type { Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AdmissionControl, registerAdmissionControl } from './admission/admission-control';
import { AppModule } from './app.module';
import { Environment } from './config/environment';
import { CORRELATION_ID_HEADER } from './http/correlation-id';
import { configureHttpBasics, createFastifyAdapter } from './http/http-basics';
import { FieldError, ProblemDetails } from './http/problem-details';
import { useProcessLogger } from './logging/process-logger';

/**
 * Builds the API exactly as `main.ts` runs it; the e2e tests use the same function, and may add
 * modules of their own (e.g. an event handler under test).
 */
export async function createHttpApp(environment: Environment, extraModules: Type[] = []): Promise<NestFastifyApplication> {
  // First: what building the modules logs goes through it too.
  const logger = useProcessLogger('api', environment);
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(environment, extraModules),
    createFastifyAdapter(environment.HTTP_BODY_LIMIT_BYTES),
    { logger },
  );
  configureHttpApp(app);
  return app;
}

export function configureHttpApp(app: NestFastifyApplication): void {
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
          'Every response carries `X-Correlation-Id`; errors are RFC 9457 `application/problem+json`.',
      )
      .setVersion('1')
      .addGlobalParameters({
        name: CORRELATION_ID_HEADER,
        in: 'header',
        required: false,
        description: 'Correlates this request with the events it causes; generated when absent',
        schema: { type: 'string', maxLength: 128 },
      })
      .build(),
    { extraModels: [ProblemDetails, FieldError] },
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}

