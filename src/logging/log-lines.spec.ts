import { connect } from 'node:net';
import { Body, Controller, Get, Header, HttpCode, Logger, Module, Param, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger as NestPinoLogger, LoggerModule, PinoLogger } from 'nestjs-pino';
import pino from 'pino';
import { configureHttpBasics, createFastifyAdapter } from '../http/http-basics';
import { logContextOf, outsideLogContext, withLogContext } from './log-context';
import { loggerOptions, loggerParams, PINO_LEVELS } from './process-logger';
import { logEveryRequest } from './request-logging';
import { HttpMetrics } from '../metrics/http-metrics';
import { MetricsRegistry } from '../metrics/metrics-registry';

/** A destination that keeps every line, parsed: each must be one JSON object. */
function memoryDestination(): { lines: Array<Record<string, unknown>>; write(line: string): void } {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, write: (chunk: string) => chunk.split('\n').filter(Boolean).forEach((line) => lines.push(JSON.parse(line))) };
}

describe('log levels', () => {
  it('maps Nest names to pino levels', () => {
    expect(PINO_LEVELS).toEqual({ error: 'error', warn: 'warn', log: 'info', debug: 'debug', verbose: 'trace' });
    expect(loggerOptions('api', { LOG_LEVEL: 'log', LOG_FORMAT: 'json' }).level).toBe('info');
    expect(loggerOptions('api', { LOG_LEVEL: 'verbose', LOG_FORMAT: 'json' }).level).toBe('trace');
  });
});

describe('the log context of an event', () => {
  const event = {
    eventId: 'e-1',
    eventType: 'OrderPlaced',
    streamId: 's-1',
    metadata: { correlationId: 'c-1', causationId: 'k-1', occurredAt: '2026-01-01T00:00:00.000Z' },
  };

  it('is on every line written inside it, across awaits, and on none outside', async () => {
    const destination = memoryDestination();
    const logger = pino(loggerOptions('api', { LOG_LEVEL: 'log', LOG_FORMAT: 'json' }), destination);
    await withLogContext(logContextOf(event), async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      logger.info('inside');
      outsideLogContext(() => logger.info('a batch for many events'));
    });
    logger.info('after');
    const [inside, batch, after] = destination.lines;
    expect(inside).toMatchObject({ msg: 'inside', level: 'info', correlationId: 'c-1', causationId: 'k-1', eventId: 'e-1', eventType: 'OrderPlaced', streamId: 's-1' });
    expect(batch).not.toHaveProperty('correlationId');
    expect(after).not.toHaveProperty('correlationId');
  });

  it("never lets a line's own fields change the context of the next line", () => {
    const destination = memoryDestination();
    const logger = pino(loggerOptions('api', { LOG_LEVEL: 'log', LOG_FORMAT: 'json' }), destination);
    withLogContext(logContextOf(event), () => {
      logger.info({ eventId: 'overridden' }, 'first');
      logger.info('second');
    });
    expect(destination.lines.map((line) => line.eventId)).toEqual(['overridden', 'e-1']);
  });
});

@Controller('probe')
class ProbeController {
  private readonly logger = new Logger('Probe');

  @Get(':id')
  probe(@Param('id') id: string): { id: string } {
    this.logger.warn(`probing ${id}`);
    return { id };
  }

  @Get(':id/broken')
  broken(): never {
    throw new Error('the probe broke');
  }

  /** As admission control answers a shed command: a 503 sent, no error thrown. */
  @Get(':id/slow')
  async slow(): Promise<{ title: string }> {
    await new Promise((resolve) => setTimeout(resolve, 300));
    return { title: 'late' };
  }

  /** A command: its body parsed (after the onRequest hooks), then a line written after an await. */
  @Post(':id')
  async accept(@Param('id') id: string, @Body() body: { note: string }): Promise<{ id: string }> {
    await new Promise((resolve) => setTimeout(resolve, 1));
    this.logger.warn(`accepting ${id}: ${body.note}`);
    return { id };
  }

  @Get(':id/busy')
  @HttpCode(503)
  @Header('retry-after', '1')
  busy(): { title: string } {
    return { title: 'busy' };
  }
}

describe('lines of an HTTP request', () => {
  const destination = memoryDestination();
  let app: NestFastifyApplication;
  let url: string;

  beforeAll(async () => {
    const params = loggerParams('api', { LOG_LEVEL: 'log', LOG_FORMAT: 'json' }, destination);
    @Module({
      imports: [LoggerModule.forRoot(params)],
      controllers: [ProbeController],
      // configureHttpBasics registers the request metrics' hook.
      providers: [{ provide: MetricsRegistry, useFactory: () => new MetricsRegistry() }, HttpMetrics],
    })
    class ProbeModule {}
    app = await NestFactory.create<NestFastifyApplication>(ProbeModule, createFastifyAdapter({ bodyLimitBytes: 65_536, requestTimeoutMs: 30_000, connectionTimeoutMs: 120_000 }) as FastifyAdapter, {
      logger: new NestPinoLogger(new PinoLogger(params), params),
    });
    logEveryRequest(app);
    configureHttpBasics(app);
    await app.listen(0, '127.0.0.1');
    url = await app.getUrl();
  });

  afterAll(async () => {
    await app?.close();
  });

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${url}${path}`, { headers });
  const linesOf = (correlationId: string) => destination.lines.filter((line) => line.correlationId === correlationId);

  it('carry the correlation id, and the request line has the route pattern, status and duration', async () => {
    const response = await get('/probe/4f1c0a2e', { 'x-correlation-id': 'req-7', authorization: 'Bearer token-secret', cookie: 'session=cookie-secret' });
    expect(response.headers.get('x-correlation-id')).toBe('req-7');
    const [inside, requestLine] = linesOf('req-7');
    expect(inside).toMatchObject({ level: 'warn', context: 'Probe', msg: 'probing 4f1c0a2e' });
    expect(requestLine).toMatchObject({ level: 'info', method: 'GET', route: '/probe/:id', status: 200 });
    expect(requestLine.durationMs).toEqual(expect.any(Number));
    expect(JSON.stringify(destination.lines)).not.toMatch(/token-secret|cookie-secret/);
    expect(JSON.stringify(requestLine)).not.toContain('4f1c0a2e');
  });

  it('carry the generated correlation id when the request brings none, or an unsafe one', async () => {
    for (const headers of [{}, { 'x-correlation-id': 'not safe; <script>' }] as Array<Record<string, string>>) {
      const response = await get('/probe/1', headers);
      const generated = response.headers.get('x-correlation-id')!;
      expect(generated).toMatch(/^[0-9a-f-]{36}$/);
      expect(linesOf(generated).map((line) => line.msg)).toEqual(['probing 1', 'GET /probe/:id 200 in ' + linesOf(generated)[1].durationMs + ' ms']);
    }
  });

  it('of a failing request: its error, with the route and stack, and its request line as a warning', async () => {
    const response = await get('/probe/9/broken', { 'x-correlation-id': 'req-500' });
    expect(response.status).toBe(500);
    const [failure, requestLine] = linesOf('req-500');
    expect(failure).toMatchObject({ level: 'error', context: 'ProblemDetailsFilter', msg: 'GET /probe/:id/broken failed' });
    expect((failure.err as { stack: string }).stack).toContain('the probe broke');
    expect(requestLine).toMatchObject({ level: 'warn', method: 'GET', route: '/probe/:id/broken', status: 500 });
  });

  it('of a plain 503 (busy, not ready): its request line at info, since the state is logged where it is decided', async () => {
    const response = await get('/probe/9/busy', { 'x-correlation-id': 'req-503' });
    expect(response.status).toBe(503);
    expect(linesOf('req-503')).toEqual([expect.objectContaining({ level: 'info', method: 'GET', route: '/probe/:id/busy', status: 503 })]);
  });

  it('of a request whose client left before any answer: no status (nothing was answered), and marked aborted', async () => {
    const { hostname, port } = new URL(url);
    const socket = connect(Number(port), hostname);
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('GET /probe/9/slow HTTP/1.1\r\nHost: probe\r\nX-Correlation-Id: req-left\r\n\r\n');
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 400));
    const [requestLine] = linesOf('req-left');
    expect(requestLine).toMatchObject({ level: 'info', method: 'GET', route: '/probe/:id/slow', msg: expect.stringMatching(/^GET \/probe\/:id\/slow unanswered in \d+ ms \(aborted\)$/) });
    expect(requestLine).not.toHaveProperty('status');
  });

  it("of a command: the handler's line after its body was parsed and an await carries the correlation id; one request line", async () => {
    const response = await fetch(`${url}/probe/5`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-correlation-id': 'req-post' }, body: '{"note":"hi"}' });
    expect(response.status).toBe(201);
    expect(linesOf('req-post').map((line) => line.msg)).toEqual(['accepting 5: hi', expect.stringMatching(/^POST \/probe\/:id 201 in \d+ ms$/)]);
  });

  it('of a request answered by a hook before Nest (415 for a body that is not JSON): its one line', async () => {
    const response = await fetch(`${url}/probe/5`, { method: 'POST', headers: { 'content-type': 'text/plain', 'x-correlation-id': 'req-415' }, body: 'hi' });
    expect(response.status).toBe(415);
    expect(linesOf('req-415')).toEqual([expect.objectContaining({ level: 'info', method: 'POST', route: '/probe/:id', status: 415 })]);
  });

  it('has a line for a request no route matches, without a route', async () => {
    const response = await get('/nowhere/123', { 'x-correlation-id': 'req-404' });
    expect(response.status).toBe(404);
    expect(linesOf('req-404')).toEqual([expect.objectContaining({ method: 'GET', status: 404 })]);
    expect(linesOf('req-404')[0]).not.toHaveProperty('route');
  });
});
