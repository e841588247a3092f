import type { INestApplication } from '@nestjs/common';
import {
  DocumentBuilder,
  type OpenAPIObject,
  type OperationObject,
  type ParameterObject,
  type ResponseObject,
  SwaggerModule,
} from '@nestjs/swagger';
import { isSheddable, LOAD_SHED_CODE } from './admission/admission-control';
import { BEARER_SCHEME } from './auth/access.decorators';
import { CORRELATION_ID_HEADER } from './http/correlation-id';
import { IdempotencyKeyReusedError, InvalidIdempotencyKeyError } from './http/idempotency/idempotency.errors';
import { takesIdempotencyKey } from './http/idempotency/idempotency.interceptor';
import { MAX_JSON_NESTING } from './http/json-nesting';
import { causeOf, EXAMPLE_IDS, type ProblemCause } from './http/openapi/problem-causes';
import { addCauses, headerRef, problemResponse, SHARED_HEADERS, type SharedHeaderName } from './http/openapi/problem-responses';
import { FieldError, PROBLEM_CONTENT_TYPE, ProblemDetails } from './http/problem-details';
import { DATABASE_UNAVAILABLE, type Problem, problemDetailsOf } from './http/problem-details.filter';

/** The tags of the document, in the order Swagger UI shows them: one per feature. */
const TAGS: Array<[name: string, description: string]> = [
  ['Users', 'Register users, change their email, deactivate them; each has a credit limit that orders reserve'],
  ['Orders', 'Place orders (PENDING until the credit check of the saga confirms or rejects them), list, cancel and ship them'],
  ['Audit trail', 'The stored events of one aggregate, as they were recorded'],
  ['Flows', 'Everything one request caused, as a causal graph with times (the same URL draws it in a browser)'],
  ['Health', 'Liveness, readiness and the details of every dependency (open, for probes and dashboards)'],
  ['Admin: subscriptions', 'The readers of the event store: lag, failures, retry, skip, pause, resume (`npm run subscriptions`)'],
  ['Admin: parked reactions', 'Saga and event-handler steps set aside after their last attempt (`npm run parked-reactions`)'],
  ['Admin: dead letters', "The consumer's dead-letter queue (`npm run dead-letters`)"],
  ['Admin: projections', 'Rebuilding read models from the event store (`npm run rebuild-projections`)'],
  ['Admin: event store', 'Publishing stored events again (`npm run republish-events`)'],
];

const COMMAND_METHODS = ['post', 'put', 'patch', 'delete'] as const;
const METHODS = ['get', 'head', 'options', ...COMMAND_METHODS] as const;

/** What the request hooks and the idempotency interceptor refuse in any command, before its handler runs. */
const COMMAND_CAUSES: ProblemCause[] = [
  {
    name: 'MALFORMED_JSON',
    summary: 'The body is not valid JSON',
    problem: { status: 400, code: 'BAD_REQUEST', detail: "Body is not valid JSON but content-type is set to 'application/json'" },
  },
  {
    name: 'NESTED_TOO_DEEP',
    summary: `The body nests deeper than ${MAX_JSON_NESTING} levels`,
    problem: { status: 400, code: 'VALIDATION_FAILED', detail: `the JSON body nests arrays or objects more than ${MAX_JSON_NESTING} levels deep` },
  },
  causeOf(new InvalidIdempotencyKeyError(), 'The Idempotency-Key is not 1 to 255 visible ASCII characters'),
  { name: 'CONTENT_TOO_LARGE', summary: 'The body is too large', problem: { status: 413, code: 'CONTENT_TOO_LARGE', detail: 'Request body is too large' } },
  {
    name: 'UNSUPPORTED_MEDIA_TYPE',
    summary: 'The body is not JSON',
    problem: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', detail: 'send the body as application/json' },
  },
  causeOf(new IdempotencyKeyReusedError(), 'The Idempotency-Key was used with another body'),
];

const LOAD_SHED: ProblemCause = {
  name: LOAD_SHED_CODE,
  summary: 'Load shed: the service is behind with earlier work',
  problem: { status: 503, code: LOAD_SHED_CODE, detail: 'the service is behind with work it accepted earlier; nothing was done, retry after 2 s' },
};

const DATABASE_UNAVAILABLE_CAUSE: ProblemCause = {
  name: DATABASE_UNAVAILABLE.code,
  summary: 'The database failed the request (restart, failover, too many connections, deadlock); the same request succeeds once it is back',
  problem: DATABASE_UNAVAILABLE,
};

const IDEMPOTENCY_KEY: ParameterObject = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description:
    'Retry-safe key (1-255 visible ASCII characters): the same key and body get the same response and one effect; ' +
    'the same key with another body is refused with 422. Replays carry `Idempotent-Replayed: true`. ' +
    'A key is kept IDEMPOTENCY_KEY_RETENTION_HOURS after its first request (24 h unless configured), then pruned: ' +
    'a retry after that is a new request and runs the command again.',
  schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$' },
};

/**
 * The OpenAPI document of the API: what the controllers' decorators say, plus what every
 * operation shares because of the hooks, guards and interceptors that run on every request
 * (see `completeApiDocument`).
 */
export function createApiDocument(app: INestApplication): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setTitle('Event-driven NestJS monolith')
    .setDescription(
      'Users and Orders on a CQRS bus over a PostgreSQL event store. Money is an integer in minor units. ' +
        'Every response carries `X-Correlation-Id`; errors are RFC 9457 `application/problem+json`. ' +
        'Every operation but the health checks needs a bearer token (button Authorize) granting the scopes listed under its ' +
        '`x-required-scopes` (401 without a valid token, 403 without the scopes). ' +
        'Every command (POST, PUT) takes an optional `Idempotency-Key`.',
    )
    .setVersion('1')
    .setLicense('MIT', 'https://opensource.org/licenses/MIT')
    .addServer('/', 'The server this document is served from')
    .addGlobalParameters({
      name: CORRELATION_ID_HEADER,
      in: 'header',
      required: false,
      description: 'Correlates this request with the events it causes; generated when absent (or not a token of `A-Za-z0-9._:-`, at most 128)',
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
    );
  for (const [name, description] of TAGS) builder.addTag(name, description);
  const document = SwaggerModule.createDocument(app, builder.build(), { extraModels: [ProblemDetails, FieldError] });
  return completeApiDocument(document);
}

/**
 * Adds to every operation what the server does to every request of its kind, decided by the
 * same functions the server decides with:
 * - every command (`takesIdempotencyKey`): the `Idempotency-Key` header, `Idempotent-Replayed`
 *   on its successes, and the refusals of the body hooks and the idempotency interceptor
 *   (400 malformed JSON or key, 413, 415, 422);
 * - every command admission control may shed (`isSheddable`): the 503 with `Retry-After`;
 * - every operation under the bearer scheme (each reaches PostgreSQL: its handler, a read model,
 *   the idempotency keys of a command): the 503 DATABASE_UNAVAILABLE with `Retry-After` that
 *   ProblemDetailsFilter answers a database failure that is not the request's fault with, and
 *   the rate limiter's `X-RateLimit-*` headers;
 * - every response: `X-Correlation-Id`; every problem example: the `instance` and
 *   `correlationId` a request to that operation would get.
 */
export function completeApiDocument(generated: OpenAPIObject): OpenAPIObject {
  // A copy without shared nodes: one decorator's metadata may stand in several operations, and each gets its own examples.
  const document = JSON.parse(JSON.stringify(generated)) as OpenAPIObject;
  document.components = { ...document.components, headers: { ...document.components?.headers, ...SHARED_HEADERS } };
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      if (takesIdempotencyKey(method)) {
        operation.parameters = [...(operation.parameters ?? []), IDEMPOTENCY_KEY];
        addProblems(operation, COMMAND_CAUSES);
        addHeaders(operation, ['Idempotent-Replayed'], (status) => status.startsWith('2'));
      }
      if (isSheddable(method, path)) addProblems(operation, [LOAD_SHED]);
      if (operation.security?.some((requirement) => BEARER_SCHEME in requirement)) {
        addProblems(operation, [DATABASE_UNAVAILABLE_CAUSE]);
        addHeaders(operation, ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset'], () => true);
      }
      addHeaders(operation, ['X-Correlation-Id'], () => true);
      fillInProblemExamples(operation, path);
    }
  }
  return document;
}

function addProblems(operation: OperationObject, causes: readonly ProblemCause[]): void {
  for (const status of new Set(causes.map(({ problem }) => problem.status))) {
    const ofStatus = causes.filter(({ problem }) => problem.status === status);
    const declared = operation.responses[status] as ResponseObject | undefined;
    if (declared) addCauses(declared, ofStatus);
    else operation.responses[status] = problemResponse(status, ofStatus);
  }
}

function addHeaders(operation: OperationObject, names: SharedHeaderName[], toStatus: (status: string) => boolean): void {
  for (const [status, response] of Object.entries(operation.responses)) {
    if (!toStatus(status)) continue;
    const declared = response as ResponseObject;
    declared.headers = { ...declared.headers, ...Object.fromEntries(names.map((name) => [name, headerRef(name)])) };
  }
}

/** Problem examples hold a `Problem`; each becomes the body a request to this operation would get (`instance` is its path). */
function fillInProblemExamples(operation: OperationObject, path: string): void {
  const instance = path.replace(/\{([^}]+)\}/g, (_, name: string) => exampleOfPathParameter(operation, path, name));
  for (const response of Object.values(operation.responses) as ResponseObject[]) {
    for (const example of Object.values(response.content?.[PROBLEM_CONTENT_TYPE]?.examples ?? {})) {
      if ('$ref' in example) continue;
      example.value = problemDetailsOf(example.value as Problem, { instance, correlationId: EXAMPLE_IDS.correlation });
    }
  }
}

function exampleOfPathParameter(operation: OperationObject, path: string, name: string): string {
  const parameters = (operation.parameters ?? []) as ParameterObject[];
  const parameter = parameters.find((candidate) => candidate.in === 'path' && candidate.name === name);
  if (parameter?.example !== undefined) return String(parameter.example);
  const schema = parameter?.schema as { format?: string; example?: unknown } | undefined;
  if (schema?.example !== undefined) return String(schema.example);
  if (schema?.format === 'uuid') return path.startsWith('/users') ? EXAMPLE_IDS.user : EXAMPLE_IDS.order;
  return name;
}
