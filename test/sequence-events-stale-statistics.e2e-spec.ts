import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { migrations } from '../migrations';
import { SEQUENCE_EVENTS_NUMBERING } from '../migrations/1765500000000-SequenceEventsBatchByPosition';
import { migrationTestDatabase } from './support/test-database';

/**
 * The numbering statement of `sequence_events`, as the function holds it on a migrated database,
 * under statistics that say nothing waits to be numbered (taken when the sequencer had caught up;
 * autovacuum has not analyzed the table since a burst of appends): the planner then estimates one
 * unnumbered event and may put the batch (the oldest unnumbered events) on the inner side of a
 * nested loop, which reads them again for every unnumbered event, or drive the UPDATE by a scan of
 * every unnumbered event in the partial index. Its cost must follow the batch, not the backlog:
 * the batch read once, and no read of the events beyond the batch's size, with stale statistics
 * or fresh ones.
 */
const database = migrationTestDatabase();

/** Unnumbered events appended once the statistics were taken: a burst the sequencer has not caught up with. */
const BURST = 10_000;
const BATCH_SIZE = 100;

interface PlanNode {
  'Node Type': string;
  'Actual Loops': number;
  'Actual Rows': number;
  'Rows Removed by Filter'?: number;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

async function append(count: number): Promise<void> {
  await database.db.query(
    `INSERT INTO events (event_id, stream_type, stream_id, stream_version, event_type, payload, metadata)
     SELECT gen_random_uuid(), 'Test', $1::uuid, n, 'Tested', '{}', '{}' FROM generate_series(1, $2::int) AS n`,
    [randomUUID(), count],
  );
}

/** The numbering statement in the body of `sequence_events` on the database (`$1`: its batch size). */
async function numberingStatementOfTheFunction(): Promise<string> {
  const { rows } = await database.db.query(`SELECT prosrc FROM pg_proc WHERE oid = 'sequence_events(integer)'::regprocedure`);
  const statement = /(WITH tip AS[\s\S]*?)\s+INTO numbered, head;/.exec(rows[0].prosrc)?.[1];
  if (!statement) throw new Error(`no numbering statement in sequence_events:\n${rows[0].prosrc}`);
  return statement;
}

/**
 * The batch's reads of the oldest unnumbered events: the plan's Limit nodes (the statement's only
 * LIMIT is the batch's) but the one PostgreSQL makes of `max(global_position)`, over the index of
 * global positions.
 */
function batchReads(node: PlanNode): PlanNode[] {
  const own = node['Node Type'] === 'Limit' && !readsIndex(node, 'events_global_position_key') ? [node] : [];
  return [...own, ...(node.Plans ?? []).flatMap(batchReads)];
}

function readsIndex(node: PlanNode, index: string): boolean {
  return node['Index Name'] === index || (node.Plans ?? []).some((child) => readsIndex(child, index));
}

/** The plan's reads of the events table, each with the rows it went through over all its loops (returned or filtered out). */
function eventReads(node: PlanNode): Array<{ read: string; rows: number }> {
  const own =
    node['Relation Name'] === 'events' && node['Node Type'] !== 'ModifyTable'
      ? [{ read: `${node['Node Type']} ${node['Index Name'] ?? ''}`.trim(), rows: (node['Actual Rows'] + (node['Rows Removed by Filter'] ?? 0)) * node['Actual Loops'] }]
      : [];
  return [...own, ...(node.Plans ?? []).flatMap(eventReads)];
}

/** EXPLAIN ANALYZE of `statement` as the function runs it (enable_bitmapscan off), custom or generic, its writes rolled back. */
async function analyze(statement: string, planCacheMode: 'force_custom_plan' | 'force_generic_plan'): Promise<PlanNode> {
  const client = new Client({ connectionString: database.url });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query('SET LOCAL enable_bitmapscan = off');
    await client.query(`SET LOCAL plan_cache_mode = ${planCacheMode}`);
    await client.query(`PREPARE numbering(integer) AS ${statement}`);
    const { rows } = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE numbering(${BATCH_SIZE})`);
    return (rows[0]['QUERY PLAN'] as Array<{ Plan: PlanNode }>)[0].Plan;
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    await client.end();
  }
}

beforeAll(async () => {
  await database.withMigrations(migrations, (dataSource) => dataSource.runMigrations());
  await database.db.query('ALTER TABLE events SET (autovacuum_enabled = false)');
  await append(1_000);
  await database.db.query('SELECT * FROM sequence_events(1000)');
  await database.db.query('ANALYZE events');
  await append(BURST);
});

const PLAN_CACHE_MODES = ['force_custom_plan', 'force_generic_plan'] as const;

it.each(PLAN_CACHE_MODES)(
  `with statistics taken when nothing waited and ${BURST} events waiting, reads the oldest unnumbered events once (%s)`,
  async (planCacheMode) => {
    const plan = await analyze(await numberingStatementOfTheFunction(), planCacheMode);

    const reads = batchReads(plan);
    expect(reads).toHaveLength(1);
    expect(reads[0]['Actual Loops']).toBe(1);
  },
);

it.each(PLAN_CACHE_MODES)(
  `with statistics taken when nothing waited and ${BURST} events waiting, reads no more events than the batch holds (%s)`,
  async (planCacheMode) => {
    const plan = await analyze(await numberingStatementOfTheFunction(), planCacheMode);

    expect(eventReads(plan).filter(({ rows }) => rows > BATCH_SIZE)).toEqual([]);
  },
);

it('is the statement the tests EXPLAIN as what the app runs (SEQUENCE_EVENTS_NUMBERING, test/store-growth.e2e-spec.ts)', async () => {
  expect(await numberingStatementOfTheFunction()).toBe(SEQUENCE_EVENTS_NUMBERING);
});

it('numbers the oldest unnumbered events after the head, in their order, under those statistics', async () => {
  const { rows } = await database.db.query(`SELECT numbered, head::int AS head FROM sequence_events($1)`, [BATCH_SIZE]);
  expect(rows).toEqual([{ numbered: BATCH_SIZE, head: 1_000 + BATCH_SIZE }]);
  const { rows: numbered } = await database.db.query(`SELECT count(*)::int AS n, max(position) - min(position) + 1 AS span FROM events WHERE global_position IS NOT NULL`);
  expect(numbered).toEqual([{ n: 1_000 + BATCH_SIZE, span: String(1_000 + BATCH_SIZE) }]);
  const { rows: offsets } = await database.db.query(`SELECT DISTINCT position - global_position AS offset FROM events WHERE global_position IS NOT NULL`);
  expect(offsets).toHaveLength(1);
});

it.each(PLAN_CACHE_MODES)(`with fresh statistics and events waiting, reads no more events than the batch holds (%s)`, async (planCacheMode) => {
  await database.db.query('ANALYZE events');

  const plan = await analyze(await numberingStatementOfTheFunction(), planCacheMode);

  expect(eventReads(plan).filter(({ rows }) => rows > BATCH_SIZE)).toEqual([]);
});
