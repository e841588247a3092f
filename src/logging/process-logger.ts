import { type DynamicModule, Logger, type LoggerService } from '@nestjs/common';
import { Logger as NestPinoLogger, LoggerModule, type Params, PinoLogger } from 'nestjs-pino';
import pino, { type DestinationStream, type LoggerOptions } from 'pino';
import pretty from 'pino-pretty';
import type { Environment } from '../config/environment';
import { logContextFields } from './log-context';

export type LogSettings = Pick<Environment, 'LOG_LEVEL' | 'LOG_FORMAT'>;

/** Nest's level names (LOG_LEVEL) as pino's. */
export const PINO_LEVELS = { error: 'error', warn: 'warn', log: 'info', debug: 'debug', verbose: 'trace' } as const;

/**
 * Anything that might reach a line with headers in it (an error carrying a request, a `req` logged
 * by hand): credentials never do. The request line itself logs no header at all (request-line.ts).
 */
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
];

/** The options of the process's one pino logger. */
export function loggerOptions(name: string, settings: LogSettings): LoggerOptions {
  return {
    name,
    level: PINO_LEVELS[settings.LOG_LEVEL],
    timestamp: pino.stdTimeFunctions.isoTime,
    // Level names rather than numbers for whoever reads the JSON; pino-pretty wants the numbers.
    formatters: settings.LOG_FORMAT === 'json' ? { level: (label) => ({ level: label }) } : {},
    // The event a reaction, the relay or the consumer works on (log-context.ts).
    mixin: logContextFields,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: {
      // A request or response logged by hand: what it is, never its headers or body.
      req: (request: { method?: string; id?: unknown }) => ({ method: request.method, id: request.id }),
      res: (response: { statusCode?: number }) => ({ statusCode: response.statusCode }),
    },
  };
}

let processDestination: DestinationStream | undefined;

/**
 * stdout, written synchronously, like Node's own stdout on a Linux pipe or file: lines stay in
 * order and none is lost when the process exits right after logging (`process.exit` in the
 * shutdown; pino's asynchronous default wrote the last lines out of order there). pretty:
 * pino-pretty in this thread (a pino transport would run in a worker, asynchronously).
 */
function destination(settings: LogSettings): DestinationStream {
  processDestination ??=
    settings.LOG_FORMAT === 'json'
      ? pino.destination({ dest: 1, sync: true })
      : pretty({
          sync: true,
          translateTime: 'SYS:HH:MM:ss.l',
          // One line per entry: the Nest context before the message, the other fields after it
          // (a request line's method, route, status and duration are in its message already).
          singleLine: true,
          messageFormat: '{if context}[{context}] {end}{msg}',
          ignore: 'pid,hostname,context,method,route,status,durationMs',
        });
  return processDestination;
}

/**
 * nestjs-pino's parameters: the logger, and no HTTP middleware (`forRoutes` empty): the request
 * lines and the request context come from a Fastify hook instead (request-logging.ts). `stream`:
 * stdout unless a test says.
 */
export function loggerParams(name: string, settings: LogSettings, stream: DestinationStream = destination(settings)): Params {
  return {
    pinoHttp: [loggerOptions(name, settings), stream],
    forRoutes: [],
  };
}

/** The module that gives an app its Nest logger through pino (`logEveryRequest` adds the request lines). */
export function loggingModule(name: string, settings: LogSettings): DynamicModule {
  return LoggerModule.forRoot(loggerParams(name, settings));
}

/**
 * The process's Nest logger, through pino, installed as the logger of every `new Logger(...)` at
 * once, so the lines before the Nest app exists (and if it fails to) are JSON too. One per
 * process: nestjs-pino keeps one root logger per process, built from the first parameters it
 * sees, so a second call (the e2e tests build several apps in one process) returns the first.
 */
export function useProcessLogger(name: string, settings: LogSettings): LoggerService {
  if (processLogger) return processLogger;
  const params = loggerParams(name, settings);
  processLogger = new NestPinoLogger(new PinoLogger(params), params);
  Logger.overrideLogger(processLogger);
  return processLogger;
}

let processLogger: LoggerService | undefined;
