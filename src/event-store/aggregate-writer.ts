import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { TransactionContext } from '../database/transaction-context';
import { isPostgresError, PostgresError, UNIQUE_VIOLATION } from '../database/postgres-errors';
import { Clock, IdGenerator } from '../shared/clock';
import { activeTraceContext } from '../tracing/trace-context';
import { ConcurrencyConflictError } from '../shared/domain-error';
import { eventTypeOf, payloadOf, schemaVersionOf } from './domain-event';
import type { EventMetadata } from './event-metadata';
import { AppendedEventMetrics } from './appended-event-metrics';
import { AggregateRow, AggregateTable, RowChange, rowChangeOf } from './aggregate-row';
import { AppendedOnCommit } from './appended-on-commit';
import { EventAppendedSignal } from './event-appended-signal';
import { commandCause, currentCommand } from './running-commands';
import { VersionedAggregate } from './versioned-aggregate';

export interface AggregateWrite {
  streamType: string;
  aggregate: VersionedAggregate;
  /** The aggregate's table and its row as the aggregate's state now makes it (see AggregateRow). */
  table: AggregateTable;
  row: AggregateRow;
  /** Maps a unique violation of the aggregate's own table (an email taken) to a domain error. */
  onUniqueViolation?: (constraint: string | undefined) => Error | undefined;
  /** Changes to rows the aggregate owns beside its own (see OwnedRowsChange), in the same statement. */
  ownedRows?: readonly OwnedRowsChange[];
}

/**
 * A change to rows an aggregate owns beside its own row (its child entities: a user's credit
 * reservations, an order's deadline), made in the writer's one statement as a data-modifying CTE.
 * `sql` numbers its parameters from `$1`, as in `params` (the writer renumbers every `$<digits>`
 * in it, so it holds no other: no dollar-quoted text, no such identifier), and must change nothing
 * unless the aggregate's row changed: gate it on `EXISTS (SELECT 1 FROM row_change)`, or select
 * from `appended (event_id uuid, event_type text)`, the events this statement appends (empty
 * unless the row changed); a stale version then writes nothing at all. Its text should not depend
 * on the values, so that the statement stays one prepared statement.
 */
export interface OwnedRowsChange {
  sql: string;
  params: unknown[];
}

const EVENTS_STREAM_VERSION_KEY = 'events_stream_id_stream_version_key';

/**
 * Commits an aggregate's row and its new events as ONE statement: a data-modifying CTE changes
 * the row and appends the events only if the row changed. One round trip, atomic without an
 * explicit transaction, and a stale version changes nothing.
 *
 * Event times come from ONE clock, the application's `Clock`, read once per write: it gives the
 * metadata's `occurredAt` and the row's `recorded_at` alike (the same instant, to the
 * millisecond), and the domain's own times in the payload (`placedAt`…) come from the same
 * clock. `recorded_at` used to be the column default `now()`, the start of the database
 * transaction: inside an outer transaction (an `Idempotency-Key` request) that was earlier than
 * `occurredAt`, and on another host's clock it could be off either way.
 *
 * The metadata's correlation and causation come from the cause of the work running here, set
 * once where it entered (`withCommandCause`: the HTTP request, the reaction step, the deadline);
 * a write outside any of them fails with MissingCommandCauseError. With tracing on, the metadata
 * also carries the active span's W3C trace context (`traceparent`, `tracestate`: the command's
 * span), which reactions, the relay and the consumer continue. It carries the command that wrote
 * the events (RunningCommands) and, for a command of an HTTP request, the request: what GET
 * /flows/{correlationId} draws.
 */
@Injectable()
export class AggregateWriter {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    private readonly appended: EventAppendedSignal,
    private readonly transactions: TransactionContext,
    private readonly metrics: AppendedEventMetrics,
  ) {}

  /** The whole statement by its row change's text: built once per text, so it is one prepared statement. */
  private readonly statements = new Map<string, string>();

  /** @throws MissingCommandCauseError, ConcurrencyConflictError, or what `onUniqueViolation` maps to */
  async write({ streamType, aggregate, table, row, onUniqueViolation, ownedRows = [] }: AggregateWrite): Promise<void> {
    const cause = commandCause();
    const events = aggregate.getUncommittedEvents();
    if (events.length === 0) return;

    const command = currentCommand();
    const eventMetadata: EventMetadata = { ...cause, occurredAt: this.clock.now().toISOString(), ...activeTraceContext(), ...(command && { command }) };
    const rowChange = rowChangeOf(table, row, aggregate.version);
    const sql = this.statementOf(rowChange, ownedRows);
    const params = [
      ...rowChange.params,
      streamType,
      aggregate.id,
      JSON.stringify(eventMetadata),
      events.map(() => this.ids.newId()),
      events.map((_, index) => aggregate.version + index + 1),
      events.map(eventTypeOf),
      events.map(schemaVersionOf),
      events.map((event) => JSON.stringify(payloadOf(event))),
      ...ownedRows.flatMap((change) => change.params),
    ];

    let rows: Array<{ rowsChanged: number }>;
    try {
      rows = await this.transactions.queryable(this.dataSource).query(sql, params);
    } catch (error) {
      throw this.translate(error, aggregate.id, onUniqueViolation);
    }
    if (rows[0].rowsChanged !== 1) throw new ConcurrencyConflictError(aggregate.id);

    // Wakes this process's sequencer and counts the events. Inside an outer transaction the events
    // become visible only at its commit, which does both then (AppendedOnCommit). Before
    // markPersisted, which empties the aggregate's list of events.
    const transaction = this.transactions.current();
    if (transaction) {
      AppendedOnCommit.markAppended(transaction, events);
    } else {
      this.metrics.committed(events);
      this.appended.raise();
    }
    aggregate.markPersisted();
  }

  private statementOf(rowChange: RowChange, ownedRows: readonly OwnedRowsChange[]): string {
    const key = [rowChange.sql, ...ownedRows.map((change) => change.sql)].join('\n;\n');
    let sql = this.statements.get(key);
    if (sql === undefined) {
      sql = appendingStatement(rowChange, ownedRows);
      this.statements.set(key, sql);
    }
    return sql;
  }

  private translate(error: unknown, streamId: string, onUniqueViolation: AggregateWrite['onUniqueViolation']): unknown {
    const cause = driverErrorOf(error);
    if (!cause || cause.code !== UNIQUE_VIOLATION) return error;
    if (cause.constraint === EVENTS_STREAM_VERSION_KEY) return new ConcurrencyConflictError(streamId);
    return onUniqueViolation?.(cause.constraint) ?? new ConcurrencyConflictError(streamId);
  }
}

/** The row change as a CTE, the events appended and the owned rows changed only when it changed a row: one statement. */
function appendingStatement(rowChange: RowChange, ownedRows: readonly OwnedRowsChange[]): string {
  const n = rowChange.params.length;
  let offset = n + 8;
  const owned = ownedRows.map((change, index) => {
    const cte = `,\n    owned_rows_${index} AS (${change.sql.replace(/\$(\d+)/g, (_, k: string) => `$${offset + Number(k)}`)})`;
    offset += change.params.length;
    return cte;
  });
  return `
    WITH row_change AS (${rowChange.sql}),
    appended AS (
      INSERT INTO events (event_id, stream_type, stream_id, stream_version, event_type, schema_version, payload, metadata, recorded_at)
      SELECT e.event_id, $${n + 1}, $${n + 2}::uuid, e.stream_version, e.event_type, e.schema_version, e.payload::jsonb, $${n + 3}::jsonb,
        ($${n + 3}::jsonb ->> 'occurredAt')::timestamptz
      FROM unnest($${n + 4}::uuid[], $${n + 5}::int[], $${n + 6}::text[], $${n + 7}::int[], $${n + 8}::text[])
        AS e(event_id, stream_version, event_type, schema_version, payload)
      WHERE EXISTS (SELECT 1 FROM row_change)
      RETURNING event_id, event_type
    )${owned.join('')}
    SELECT (SELECT count(*) FROM row_change)::int AS "rowsChanged"`;
}

function driverErrorOf(error: unknown): PostgresError | undefined {
  const driverError = (error as { driverError?: unknown })?.driverError ?? error;
  return isPostgresError(driverError) ? driverError : undefined;
}
