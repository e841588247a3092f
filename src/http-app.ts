import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AppModule } from './app.module';
import { Environment } from './config/environment';
import { CORRELATION_ID_HEADER, correlationIdOf } from './http/correlation-id';
import { FieldError, ProblemDetails } from './http/problem-details';
import { ProblemDetailsFilter, sendProblem } from './http/problem-details.filter';
import { createValidationPipe } from './http/request-validation';
import { StorableTextPipe } from './http/storable-text.pipe';

/** Builds the API exactly as `main.ts` runs it; the e2e tests use the same function. */
export async function createHttpApp(environment: Environment): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: environment.HTTP_BODY_LIMIT_BYTES,
    requestIdHeader: false,
    genReqId: correlationIdOf,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(environment), adapter, {
    logger: logLevels(environment.LOG_LEVEL),
  });
  configureHttpApp(app);
  return app;
}

export function configureHttpApp(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', async (request, reply) => {
    void reply.header(CORRELATION_ID_HEADER, request.id);
    if (hasBody(request.headers) && !isJson(request.headers['content-type'])) {
      sendProblem(reply, request, { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', detail: 'send the body as application/json' });
      return reply;
    }
  });

  app.useGlobalPipes(new StorableTextPipe(), createValidationPipe());
  app.useGlobalFilters(new ProblemDetailsFilter());
  app.enableShutdownHooks();

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

/** Bodies are JSON only; anything else is refused before parsing, whatever parsers Nest registers. */
function hasBody(headers: Record<string, string | string[] | undefined>): boolean {
  const length = headers['content-length'];
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function isJson(contentType: string | string[] | undefined): boolean {
  return typeof contentType === 'string' && /^application\/json\s*(;|$)/i.test(contentType);
}

function logLevels(level: Environment['LOG_LEVEL']) {
  const all = ['error', 'warn', 'log', 'debug', 'verbose'] as const;
  return all.slice(0, all.indexOf(level) + 1);
}
