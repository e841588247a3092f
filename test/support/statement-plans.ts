import { Client } from 'pg';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { prepareValue } = require('pg/lib/utils') as { prepareValue(value: unknown): unknown };

/** A statement an app sent, with the parameters of (up to) its first few sends. */
export interface CapturedStatement {
  text: string;
  samples: unknown[][];
  count: number;
}

const SAMPLES_PER_STATEMENT = 3;

/**
 * Records every statement any `pg` client of this process sends (TypeORM's pool, the named
 * prepared statements of src/database/prepared-statements.ts, the receipt transactions' simple
 * queries, the LISTEN connection) while it is installed. It wraps `Client.prototype.query`, which
 * every pooled client, and the prepared-statements layer, call: a new query in the app cannot
 * escape it.
 */
export function captureStatements(): { statements(): CapturedStatement[]; stop(): void; ignore(text: string): string } {
  const prototype = Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = prototype.query;
  const captured = new Map<string, CapturedStatement>();
  const ignored = new Set<string>();
  prototype.query = function (this: Client, config: unknown, values?: unknown, callback?: unknown) {
    let text: string | undefined;
    let params: unknown[] = [];
    if (typeof config === 'string') {
      text = config;
      if (Array.isArray(values)) params = values;
    } else if (config && typeof config === 'object' && typeof (config as { text?: unknown }).text === 'string') {
      text = (config as { text: string }).text;
      const own = (config as { values?: unknown }).values;
      if (Array.isArray(own)) params = own;
      else if (Array.isArray(values)) params = values;
    }
    if (text !== undefined && !ignored.has(text)) {
      const entry = captured.get(text) ?? { text, samples: [], count: 0 };
      entry.count += 1;
      if (entry.samples.length < SAMPLES_PER_STATEMENT) entry.samples.push(params);
      captured.set(text, entry);
    }
    return original.call(this, config, values, callback);
  };
  return {
    statements: () => [...captured.values()],
    /** Leaves a statement of the test itself out; returns it. */
    ignore: (text) => {
      ignored.add(text);
      return text;
    },
    stop: () => {
      prototype.query = original;
    },
  };
}

/**
 * The statements of a text that EXPLAIN can take: a simple query may hold several (`BEGIN; SET
 * LOCAL …; INSERT …`); transaction control, settings and LISTEN are left out.
 */
export function explainableParts(text: string): string[] {
  return text
    .split(/;\s*(?=(?:BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|SET|INSERT|SELECT|UPDATE|DELETE|WITH)\b)/i)
    .map((part) => part.trim().replace(/;$/, ''))
    .filter((part) => /^(SELECT|INSERT|UPDATE|DELETE|WITH)\b/i.test(part));
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

/** Every relation a plan reads with a sequential scan. */
export function sequentialScans(plan: PlanNode): string[] {
  const found: string[] = [];
  const walk = (node: PlanNode) => {
    if (node['Node Type'] === 'Seq Scan' && node['Relation Name']) found.push(node['Relation Name']);
    for (const child of node.Plans ?? []) walk(child);
  };
  walk(plan);
  return found;
}

export interface PlanFinding {
  statement: string;
  /** `custom`: planned with the parameters it was sent with; `generic`: the plan a prepared statement may switch to. */
  mode: 'custom' | 'generic';
  scans: string[];
  plan: string;
}

/**
 * EXPLAINs `statement` with `params` as PostgreSQL plans it when it runs: once with these
 * parameters (a custom plan), and once as the generic plan of a prepared statement
 * (`plan_cache_mode = force_generic_plan`), which a named statement sent often enough may use.
 */
export async function explainBoth(client: Client, statement: string, params: unknown[]): Promise<Array<{ mode: 'custom' | 'generic'; plan: PlanNode; text: string }>> {
  const custom = await explain(client, `EXPLAIN (FORMAT JSON) ${statement}`, params);
  if (params.length === 0) return [{ mode: 'custom', ...custom }];
  await client.query(`SET plan_cache_mode = force_generic_plan`);
  try {
    await client.query(`PREPARE plan_check AS ${statement}`);
    // EXECUTE takes its arguments as SQL, not as bound parameters: literals, converted as pg converts values.
    const literals = params.map((value) => {
      const prepared = prepareValue(value);
      return prepared === null ? 'NULL' : client.escapeLiteral(String(prepared));
    });
    const generic = await explain(client, `EXPLAIN (FORMAT JSON) EXECUTE plan_check(${literals.join(', ')})`, []);
    return [
      { mode: 'custom', ...custom },
      { mode: 'generic', ...generic },
    ];
  } finally {
    await client.query(`DEALLOCATE ALL`).catch(() => undefined);
    await client.query(`RESET plan_cache_mode`);
  }
}

async function explain(client: Client, sql: string, params: unknown[]): Promise<{ plan: PlanNode; text: string }> {
  const { rows } = await client.query(sql, params).catch((error: Error) => {
    throw new Error(`${error.message}, explaining with ${params.length} parameter(s):\n${sql}`);
  });
  const plan = (rows[0]['QUERY PLAN'] as Array<{ Plan: PlanNode }>)[0].Plan;
  return { plan, text: JSON.stringify(plan) };
}

/** A plan as indented lines of node type and relation, to read in a failure message. */
export function outline(plan: PlanNode, depth = 0): string {
  const own = `${'  '.repeat(depth)}${plan['Node Type']}${plan['Relation Name'] ? ` on ${plan['Relation Name']}` : ''}${
    (plan as { 'Index Name'?: string })['Index Name'] ? ` using ${(plan as { 'Index Name'?: string })['Index Name']}` : ''
  }`;
  return [own, ...(plan.Plans ?? []).map((child) => outline(child, depth + 1))].join('\n');
}
