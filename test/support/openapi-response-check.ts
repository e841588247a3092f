import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type request from 'supertest';

/**
 * Checks responses against the OpenAPI document the app serves (`/docs-json`): the e2e harness
 * (`app.http()` of test-app.ts) runs it on every response a test receives, so any test that gets
 * an answer the document does not describe fails, naming the operation, the status and what is
 * wrong. What it checks, for the operation the method and path match:
 * - the status is declared;
 * - the content type is one the response declares (a response declaring no content has no body);
 * - the body is valid against that content's schema (ajv, formats included), and has no property
 *   the schema does not declare (an object schema with `properties` is taken as closed unless it
 *   says `additionalProperties`), so a field the document forgets fails too;
 * - every API header the response carries (Location, ETag, X-Correlation-Id, Retry-After, …) is
 *   declared on it.
 * A request no operation matches (an unknown path or method, a malformed path) must be answered
 * with a problem+json error valid against ProblemDetails; only the routes the document leaves out
 * on purpose (UNDOCUMENTED_ROUTES) and CORS preflights (OPTIONS, answered by the CORS hook for
 * any path, part of the protocol rather than of the API) may answer otherwise.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** The parts of a supertest response the check reads. */
export interface CheckedResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text?: string;
}

/**
 * Routes the app serves outside the document: Swagger UI itself, the Prometheus scrape, the
 * AsyncAPI catalogue (a document of its own) and the flow pages' search page and assets (the
 * flow page itself is the `text/html` of getFlow's 200).
 */
const UNDOCUMENTED_ROUTES = [/^\/docs(?:-json|\/.*)?$/, /^\/metrics$/, /^\/asyncapi(?:\.json|\/.*)?$/, /^\/flows$/, /^\/flows\/assets\//];

/** Headers the API sets itself (not the framework's, helmet's or CORS'), which the document must declare where they appear. */
const API_HEADERS = [
  'location',
  'etag',
  'x-correlation-id',
  'idempotent-replayed',
  'retry-after',
  'www-authenticate',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
];

const SCHEMA_BASE = 'https://openapi.test/';
const PROBLEM_SCHEMA = `${SCHEMA_BASE}components/schemas/ProblemDetails`;
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

interface Operation {
  method: string;
  template: string;
  pattern: RegExp;
  /** Literal segments win over parameters, as in the router: `/a/retry` before `/a/{id}`. */
  literalSegments: number;
  operation: Json;
}

export class OpenApiResponseCheck {
  private readonly ajv: Ajv;
  private readonly operations: Operation[];
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(document: Json) {
    this.ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, strictTuples: false });
    addFormats(this.ajv);
    // OpenAPI annotations that are no JSON Schema keywords.
    this.ajv.addVocabulary(['example', 'xml', 'externalDocs', 'discriminator']);
    for (const [name, schema] of Object.entries(document.components?.schemas ?? {})) {
      this.ajv.addSchema(toJsonSchema(schema), `${SCHEMA_BASE}components/schemas/${name}`);
    }
    this.operations = Object.entries(document.paths as Json)
      .flatMap(([template, item]) =>
        Object.entries(item as Json)
          .filter(([method]) => METHODS.includes(method))
          .map(([method, operation]) => ({
            method,
            template,
            pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`),
            literalSegments: template.split('/').filter((segment) => segment && !segment.startsWith('{')).length,
            operation,
          })),
      )
      .sort((a, b) => b.literalSegments - a.literalSegments);
  }

  /** Why `response` to `method url` does not match the document: none when it does. */
  problemsWith(method: string, url: string, response: CheckedResponse): string[] {
    const path = pathOf(url);
    const match = this.operationOf(method, path);
    // 414: the router refused the URL before any operation was chosen (a path parameter over
    // MAX_PATH_PARAMETER_LENGTH, src/http/http-basics.ts), as for a path no operation has.
    if (!match || response.status === 414) return this.problemsWithUnmatched(method, path, response);
    const declared = match.operation.responses?.[String(response.status)] ?? match.operation.responses?.[`${String(response.status)[0]}XX`];
    if (!declared) {
      const statuses = Object.keys(match.operation.responses ?? {}).join(', ');
      return [`status ${response.status} is not declared (declared: ${statuses})`];
    }
    const pointer = `#/paths/${escapePointer(match.template)}/${match.method}/responses/${response.status}`;
    return [...this.problemsWithHeaders(declared, response), ...this.problemsWithBody(declared, pointer, response)];
  }

  /** A readable error for a failed check, or undefined. */
  check(method: string, url: string, response: CheckedResponse): Error | undefined {
    const problems = this.problemsWith(method, url, response);
    if (problems.length === 0) return undefined;
    const path = pathOf(url);
    const match = this.operationOf(method, path);
    const what = match ? `operation ${match.operation.operationId ?? '?'} (${match.method.toUpperCase()} ${match.template})` : 'no documented operation';
    return new Error(
      `The response to ${method.toUpperCase()} ${path} (${what}), ${response.status}, does not match the OpenAPI document:\n` +
        problems.map((problem) => `  - ${problem}`).join('\n') +
        `\n  body: ${truncate(response.text ?? '')}\n` +
        '  (checked by test/support/openapi-response-check.ts on every response of app.http(); fix the document, or the response)',
    );
  }

  /** Why `value` is not valid against the component schema `name` (as a client generator would read it): none when it is. */
  problemsWithValue(name: string, value: unknown): string[] {
    const id = `${SCHEMA_BASE}components/schemas/${name}`;
    return this.validate(id, () => ({ $ref: id }), { value });
  }

  private operationOf(method: string, path: string): Operation | undefined {
    return this.operations.find((candidate) => candidate.method === method.toLowerCase() && candidate.pattern.test(path));
  }

  private problemsWithUnmatched(method: string, path: string, response: CheckedResponse): string[] {
    if (UNDOCUMENTED_ROUTES.some((route) => route.test(path)) || method.toUpperCase() === 'OPTIONS') return [];
    if (response.status < 400) return [`${response.status} from a route the document does not have`];
    const mediaType = mediaTypeOf(response);
    if (mediaType !== 'application/problem+json') return [`content type ${mediaType ?? '(none)'}, expected application/problem+json for an error`];
    return this.validate(PROBLEM_SCHEMA, () => ({ $ref: PROBLEM_SCHEMA }), parse(response.text));
  }

  private problemsWithHeaders(declared: Json, response: CheckedResponse): string[] {
    const names = new Set(Object.keys(declared.headers ?? {}).map((name) => name.toLowerCase()));
    return API_HEADERS.filter((name) => response.headers[name] !== undefined && !names.has(name)).map(
      (name) => `header ${name} is set but not declared on this response`,
    );
  }

  private problemsWithBody(declared: Json, pointer: string, response: CheckedResponse): string[] {
    const content = declared.content as Record<string, Json> | undefined;
    const text = response.text ?? '';
    if (!content) return text === '' ? [] : [`a body (${mediaTypeOf(response) ?? 'no content type'}) where the document declares none`];
    const mediaType = mediaTypeOf(response);
    const media = mediaType === undefined ? undefined : content[mediaType];
    if (!media) return [`content type ${mediaType ?? '(none)'} is not declared (declared: ${Object.keys(content).join(', ')})`];
    if (!media.schema) return [];
    if (!/[/+]json$/.test(mediaType!)) return [];
    const key = `${pointer}/content/${escapePointer(mediaType!)}`;
    return this.validate(key, () => toJsonSchema(media.schema), parse(text));
  }

  private validate(key: string, schema: () => Json, body: { value: unknown } | { error: string }): string[] {
    if ('error' in body) return [`the body is not JSON: ${body.error}`];
    let validator = this.validators.get(key);
    if (!validator) {
      validator = this.ajv.compile(schema());
      this.validators.set(key, validator);
    }
    return validator(body.value) ? [] : (validator.errors ?? []).map(describeError);
  }
}

/**
 * OpenAPI 3.0 schema → JSON Schema as ajv reads it: `nullable: true` also admits null (Nest writes
 * a nullable reference as `{ nullable, type: object, allOf: [$ref] }`), references point at the
 * component schemas added to ajv, and an object schema listing `properties` is closed unless it
 * says otherwise (see the header of this file).
 */
function toJsonSchema(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(toJsonSchema);
  if (schema === null || typeof schema !== 'object') return schema;
  const { nullable, ...rest } = schema;
  const converted: Json = {};
  for (const [key, value] of Object.entries(rest)) {
    if (key === '$ref' && typeof value === 'string') converted.$ref = value.replace(/^#\//, SCHEMA_BASE);
    else if (key === 'properties') converted.properties = Object.fromEntries(Object.entries(value as Json).map(([name, child]) => [name, toJsonSchema(child)]));
    else if (key === 'example' || key === 'examples') converted[key] = value;
    else converted[key] = toJsonSchema(value);
  }
  if (converted.properties && converted.additionalProperties === undefined) converted.additionalProperties = false;
  return nullable ? { anyOf: [{ type: 'null' }, converted] } : converted;
}

function describeError(error: ErrorObject): string {
  const where = error.instancePath || '(body)';
  const detail =
    error.keyword === 'additionalProperties'
      ? `has ${String(error.params.additionalProperty)}, which the schema does not declare`
      : error.keyword === 'enum'
        ? `${error.message}: ${JSON.stringify(error.params.allowedValues)}`
        : error.message;
  return `${where} ${detail} (schema ${error.schemaPath})`;
}

function mediaTypeOf(response: CheckedResponse): string | undefined {
  const header = response.headers['content-type'];
  const value = Array.isArray(header) ? header[0] : header;
  return value?.split(';')[0].trim().toLowerCase() || undefined;
}

function parse(text: string | undefined): { value: unknown } | { error: string } {
  try {
    return { value: JSON.parse(text ?? '') };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** The path of a request URL as sent (no origin, query or fragment; not normalized, as the router sees it). */
function pathOf(url: string): string {
  return url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '').split(/[?#]/)[0] || '/';
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

function truncate(text: string): string {
  return text.length > 600 ? `${text.slice(0, 600)}… (${text.length} characters)` : text;
}

/** `agent` with `check` as the first assertion of each of its requests (supertest runs them once the response is in). */
export function withResponseCheck<T extends ReturnType<typeof request.agent>>(agent: T, check: OpenApiResponseCheck): T {
  agent.use((test: request.Test) => test.expect((response: request.Response) => check.check(test.method, test.url, response)));
  return agent;
}
