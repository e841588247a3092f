// `node --import ./dist/src/tracing/preload-api.js dist/src/main.js`: tracing for the API, when the
// OTEL_* variables ask for it (see start-tracing.ts).
import { startTracing } from './start-tracing';

startTracing('eda-api');
