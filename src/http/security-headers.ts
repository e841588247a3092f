import helmet from 'helmet';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { CORRELATION_ID_HEADER } from './correlation-id';

/**
 * The Content-Security-Policy of every response but the flow page's, which narrows it (see
 * FLOW_PAGE_CONTENT_SECURITY_POLICY). Swagger UI (/docs) is the HTML it is made for: its scripts
 * and stylesheet come from this origin, it has one inline <style> block and renders icons as data:
 * images, and it fetches /docs-json and sends the requests you try from this origin. JSON
 * responses are never rendered, so one policy serves both. No `upgrade-insecure-requests`: the
 * app is served over plain HTTP behind a TLS-terminating balancer or on a developer's machine,
 * where upgrading would break every asset of /docs on any origin but localhost.
 */
export const CONTENT_SECURITY_POLICY = {
  'default-src': ["'self'"],
  'base-uri': ["'self'"],
  'connect-src': ["'self'"],
  'font-src': ["'self'", 'data:'],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
  'img-src': ["'self'", 'data:'],
  'object-src': ["'none'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  'style-src': ["'self'", "'unsafe-inline'"],
};

/**
 * The policy of the AsyncAPI page (`GET /asyncapi`) alone: the one above, with `'unsafe-eval'`
 * added to `script-src`. The page's renderer (@asyncapi/react-component's standalone bundle)
 * validates the document with ajv, which compiles its validators with `new Function` as the
 * bundle loads; without eval the page stays blank. Scripts still come from this origin only, and
 * the page renders nothing but the app's own `/asyncapi.json`, so there is no text an attacker
 * controls for eval to run. Every other response keeps the strict policy.
 */
export const ASYNCAPI_PAGE_CONTENT_SECURITY_POLICY = serializePolicy({ ...CONTENT_SECURITY_POLICY, 'script-src': ["'self'", "'unsafe-eval'"] });

/** The header value helmet writes for `directives`: `name value value;name value`. */
function serializePolicy(directives: Record<string, string[]>): string {
  return Object.entries(directives)
    .map(([name, values]) => `${name} ${values.join(' ')}`)
    .join(';');
}

/**
 * The one inline stylesheet Cytoscape adds to the page it draws in (`.__________cytoscape_container
 * { position: relative; }`, its renderer's constructor), allowed by its SHA-256. Should a new
 * Cytoscape change it, the browser refuses it and reports a violation (the flow page's browser test
 * fails on it); the drawing does not depend on it, the page's own stylesheet positions the graph.
 */
const CYTOSCAPE_CONTAINER_STYLE_HASH = "'sha256-pgvDUBa4IjFA2yuSJ2cqcyxmNYJMborsd0ORcRv9vw8='";

/**
 * The flow page (GET /flows/{correlationId} in a browser, src/flows): the same policy, narrowed
 * to no inline style but Cytoscape's one stylesheet. The page's own stylesheet and scripts come
 * from this origin; Cytoscape draws on canvases and sets element styles through the CSSOM, which
 * CSP does not govern.
 */
export const FLOW_PAGE_CONTENT_SECURITY_POLICY = serializePolicy({ ...CONTENT_SECURITY_POLICY, 'style-src': ["'self'", CYTOSCAPE_CONTAINER_STYLE_HASH] });

/** Request headers a browser on an allowed origin may send (CORS preflight). */
const CORS_REQUEST_HEADERS = ['authorization', 'content-type', 'idempotency-key', 'if-match', CORRELATION_ID_HEADER];
/** Response headers a script on an allowed origin may read. */
const CORS_EXPOSED_HEADERS = [
  'location',
  'etag',
  'idempotent-replayed',
  'retry-after',
  'www-authenticate',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
  CORRELATION_ID_HEADER,
];

/**
 * Writes the security headers on a raw response, then calls `next`. helmet's middleware, built
 * once: @fastify/helmet builds it anew for every request (helmet() parses the policy each time),
 * 0.04 ms of CPU per request in a profile of the bench.
 */
export const setSecurityHeaders = helmet({ contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY } });

/**
 * Security headers on every response through `helmet` (HSTS, nosniff, frame and referrer
 * policies, CSP above), registered before any other hook so that early answers (415, 503 of load
 * shedding) carry them too; and CORS for the browser origins of CORS_ORIGINS only. With no origin
 * listed no CORS header is sent, so browsers refuse every cross-origin read. Tokens travel in
 * `Authorization`, never in cookies: credentials stay off.
 */
export function configureSecurityHeaders(app: NestFastifyApplication, corsOrigins: readonly string[]): void {
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', (request, reply, done) => setSecurityHeaders(request.raw, reply.raw, () => done()));
  if (corsOrigins.length === 0) return;
  app.enableCors({
    origin: [...corsOrigins],
    methods: ['GET', 'POST', 'PUT', 'DELETE'],
    allowedHeaders: CORS_REQUEST_HEADERS,
    exposedHeaders: CORS_EXPOSED_HEADERS,
    credentials: false,
    maxAge: 600,
  });
}
