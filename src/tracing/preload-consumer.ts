// `node --import ./dist/src/tracing/preload-consumer.js dist/src/consumer/main.js`: tracing for the
// consumer app, when the OTEL_* variables ask for it (see start-tracing.ts).
import { startTracing } from './start-tracing';

startTracing('eda-consumer');
