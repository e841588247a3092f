/** One sample of a scrape: `name{labels} value`. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
/** The series a family of each type writes, beside its own name. */
const SUFFIXES: Record<string, string[]> = {
  counter: [''],
  gauge: [''],
  untyped: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

/**
 * A scrape in the Prometheus text exposition format (0.0.4), parsed strictly: a malformed line,
 * a sample of no declared family, a series twice, or a family declared twice throws, so a test
 * that reads values through it also checks the format.
 */
export class PrometheusScrape {
  private constructor(
    readonly samples: readonly Sample[],
    /** Family name → type (`counter`, `gauge`, `histogram`, …). */
    readonly types: ReadonlyMap<string, string>,
  ) {}

  static parse(text: string): PrometheusScrape {
    const types = new Map<string, string>();
    const samples: Sample[] = [];
    const seen = new Set<string>();
    text.split('\n').forEach((line, index) => {
      const where = `line ${index + 1} (${JSON.stringify(line)})`;
      if (line.trim() === '') return;
      if (line.startsWith('#')) {
        const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
        if (type) {
          if (types.has(type[1])) throw new Error(`${type[1]} is declared twice, ${where}`);
          types.set(type[1], type[2]);
        } else if (!/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* /.test(line)) {
          throw new Error(`unexpected comment, ${where}`);
        }
        return;
      }
      const sample = parseSample(line, where);
      if (!familyOf(sample.name, types)) throw new Error(`${sample.name} belongs to no declared family, ${where}`);
      const key = seriesKey(sample.name, sample.labels);
      if (seen.has(key)) throw new Error(`${key} appears twice, ${where}`);
      seen.add(key);
      samples.push(sample);
    });
    return new PrometheusScrape(samples, types);
  }

  /** The samples of `name` whose labels include every one of `labels`. */
  find(name: string, labels: Record<string, string> = {}): Sample[] {
    return this.samples.filter(
      (sample) => sample.name === name && Object.entries(labels).every(([label, value]) => sample.labels[label] === value),
    );
  }

  /** The value of the one sample of `name` matching `labels`; throws when none or several match. */
  value(name: string, labels: Record<string, string> = {}): number {
    const found = this.find(name, labels);
    if (found.length !== 1) {
      throw new Error(`${seriesKey(name, labels)}: ${found.length} samples match (${found.map((s) => seriesKey(s.name, s.labels)).join(', ')})`);
    }
    return found[0].value;
  }

  /** The sum of the samples of `name` matching `labels`; 0 when none does (a counter never incremented). */
  sum(name: string, labels: Record<string, string> = {}): number {
    return this.find(name, labels).reduce((total, sample) => total + sample.value, 0);
  }
}

function familyOf(sampleName: string, types: ReadonlyMap<string, string>): string | undefined {
  for (const [family, type] of types) {
    if (SUFFIXES[type].some((suffix) => family + suffix === sampleName)) return family;
  }
  return undefined;
}

function seriesKey(name: string, labels: Record<string, string>): string {
  const sorted = Object.keys(labels)
    .sort()
    .map((label) => `${label}=${JSON.stringify(labels[label])}`);
  return `${name}{${sorted.join(',')}}`;
}

function parseSample(line: string, where: string): Sample {
  let rest = line;
  const name = METRIC_NAME.exec(rest)?.[0];
  if (!name) throw new Error(`no metric name, ${where}`);
  rest = rest.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    rest = rest.slice(1);
    while (!rest.startsWith('}')) {
      const label = LABEL_NAME.exec(rest)?.[0];
      if (!label || rest[label.length] !== '=' || rest[label.length + 1] !== '"') throw new Error(`malformed label, ${where}`);
      rest = rest.slice(label.length + 2);
      let value = '';
      for (;;) {
        const char = rest[0];
        if (char === undefined) throw new Error(`unterminated label value, ${where}`);
        rest = rest.slice(1);
        if (char === '"') break;
        if (char === '\\') {
          const escaped = rest[0];
          rest = rest.slice(1);
          if (escaped === 'n') value += '\n';
          else if (escaped === '\\' || escaped === '"') value += escaped;
          else throw new Error(`bad escape \\${escaped}, ${where}`);
        } else {
          value += char;
        }
      }
      if (label in labels) throw new Error(`label ${label} twice, ${where}`);
      labels[label] = value;
      if (rest.startsWith(',')) rest = rest.slice(1);
      else if (!rest.startsWith('}')) throw new Error(`expected , or } after a label, ${where}`);
    }
    rest = rest.slice(1);
  }
  const parts = rest.trim().split(/\s+/);
  if (!rest.startsWith(' ') || parts.length < 1 || parts.length > 2) throw new Error(`expected " value [timestamp]", ${where}`);
  const value = parseValue(parts[0]);
  if (value === undefined) throw new Error(`bad value ${parts[0]}, ${where}`);
  return { name, labels, value };
}

/** As Prometheus reads it (Go's ParseFloat): `NaN` and `Inf` in any case (prom-client writes `Nan`). */
function parseValue(text: string): number | undefined {
  if (/^\+?inf$/i.test(text)) return Infinity;
  if (/^-inf$/i.test(text)) return -Infinity;
  if (/^nan$/i.test(text)) return NaN;
  return /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text) ? Number(text) : undefined;
}
