import { z } from 'zod';
import { InvalidEnvironmentError, loadEnvironment, parseEnvironment, tracingSettings } from '../config/environment';
import { loadConsumerEnvironment } from '../consumer/config/consumer-environment';
import { tracingRequested } from './start-tracing';

const settings = (raw: Record<string, string>) => parseEnvironment(z.object(tracingSettings), raw);

describe('when the OTEL_* variables switch tracing on', () => {
  it.each<[string, Record<string, string>, boolean]>([
    ['nothing set', {}, false],
    ['an exporter named', { OTEL_TRACES_EXPORTER: 'otlp' }, true],
    ['the console exporter', { OTEL_TRACES_EXPORTER: 'console' }, true],
    ['two exporters', { OTEL_TRACES_EXPORTER: 'otlp, console' }, true],
    ['exporter none', { OTEL_TRACES_EXPORTER: 'none' }, false],
    ['an OTLP endpoint only (the SDK exports by OTLP by default)', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, true],
    ['an OTLP traces endpoint only', { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://collector/v1/traces' }, true],
    ['an endpoint, but exporter none', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none' }, false],
    ['an exporter, but the SDK disabled', { OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'TRUE' }, false],
    ['an exporter, the SDK explicitly enabled', { OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'false' }, true],
  ])('%s: %s', (_, raw, on) => {
    expect(tracingRequested(settings(raw))).toBe(on);
  });

  it.each([
    ['OTEL_TRACES_EXPORTER', 'jaeger'],
    ['OTEL_TRACES_EXPORTER', ''],
    ['OTEL_SDK_DISABLED', 'yes'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'collector:4318'],
    ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'thrift'],
  ])('a bad %s (%j) stops either process with a message naming it', (name, value) => {
    expect(() => settings({ [name]: value })).toThrow(InvalidEnvironmentError);
    expect(() => loadEnvironment({ [name]: value })).toThrow(new RegExp(`^Invalid configuration: ${name}: `));
    expect(() => loadConsumerEnvironment({ [name]: value })).toThrow(new RegExp(`^Invalid configuration: ${name}: `));
  });
});
