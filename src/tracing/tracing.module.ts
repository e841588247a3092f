import { Module } from '@nestjs/common';
import { CommandTracing } from './command-tracing';
import { TraceExportFlush } from './trace-export-flush';

/**
 * The API's own spans where no instrumentation makes them: one per command. Reaction steps, the
 * relay's publishes and the consumer's handling open theirs where they run. The SDK and the
 * instrumentations (HTTP, Fastify, PostgreSQL, amqplib) start in the `--import` preload
 * (start-tracing.ts), only when the OTEL_* variables ask for it.
 */
@Module({ providers: [CommandTracing, TraceExportFlush] })
export class TracingModule {}
