// SQL spans for both backends at the Db port: one CLIENT span per statement, and one per transaction
// around its statements. PGlite has no driver instrumentation, and wrapping the port instead of `pg`
// keeps the two backends' traces alike. Spans carry the statement with its literals blanked
// (statement.ts) and never a parameter value.
//
// A statement outside any trace (pg-boss polling every few seconds, migrations, the outbox timer)
// gets no span: each would be a trace of its own and bury the ones that matter.
import { type Attributes, context, type Span, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import type { Db, QueryResult, TransactionOptions, Tx } from '../db/port.ts';
import { operationOf, statementForSpan } from './statement.ts';

// db.system is the name most backends still index; db.system.name is the stable convention's.
const DB_SYSTEM = { 'db.system': 'postgresql', 'db.system.name': 'postgresql' } as const;

/** The Db with spans around its statements and transactions (inside a trace only). */
export function traceDb(db: Db, tracer: Tracer): Db {
  const base: Attributes = { ...DB_SYSTEM, 'stella.db.backend': db.backend };
  const statementSpan = <T>(text: string, run: () => Promise<T>) => withStatementSpan(tracer, base, text, run);
  return {
    ...db,
    backend: db.backend,
    capabilities: db.capabilities,
    query: <T>(text: string, params?: readonly unknown[]) => statementSpan(text, () => db.query<T>(text, params)),
    transaction<T>(fn: (tx: Tx) => Promise<T>, options?: TransactionOptions): Promise<T> {
      const parent = context.active();
      if (!trace.getSpan(parent)) return db.transaction(fn, options);
      const span = tracer.startSpan(
        'transaction',
        {
          kind: SpanKind.CLIENT,
          attributes: { ...base, ...(options?.tenant !== undefined && { 'stella.tenant': options.tenant }) },
        },
        parent,
      );
      const inside = trace.setSpan(parent, span);
      // Everything fn starts (statements, nested helpers) is a child of the transaction's span.
      return ended(
        span,
        db.transaction((tx) => context.with(inside, () => fn(tracedTx(tx, statementSpan))), options),
      );
    },
    queueAdapter() {
      const adapter = db.queueAdapter();
      return {
        executeSql: (text: string, values?: unknown[]) => statementSpan(text, () => adapter.executeSql(text, values)),
      };
    },
    ping: () => db.ping(),
    probeWrite: () => db.probeWrite(),
    close: () => db.close(),
  };
}

type StatementSpan = <T>(text: string, run: () => Promise<T>) => Promise<T>;

function tracedTx(tx: Tx, statementSpan: StatementSpan): Tx {
  const traced: Tx = {
    query: <T>(text: string, params?: readonly unknown[]): Promise<QueryResult<T>> =>
      statementSpan(text, () => tx.query<T>(text, params)),
    exec: (sql: string) => statementSpan(sql, () => tx.exec(sql)),
  };
  // Present exactly when the backend can COPY (capabilities.copyFrom), as on the Tx it wraps.
  const copyFrom = tx.copyFrom?.bind(tx);
  if (copyFrom) traced.copyFrom = (sql, chunks) => statementSpan(sql, () => copyFrom(sql, chunks));
  return traced;
}

function withStatementSpan<T>(tracer: Tracer, base: Attributes, text: string, run: () => Promise<T>): Promise<T> {
  const parent = context.active();
  if (!trace.getSpan(parent)) return run();
  const operation = operationOf(text);
  const span = tracer.startSpan(
    operation ?? 'postgresql',
    {
      kind: SpanKind.CLIENT,
      attributes: {
        ...base,
        'db.statement': statementForSpan(text),
        ...(operation && { 'db.operation.name': operation }),
      },
    },
    parent,
  );
  return ended(span, run());
}

/** Ends the span when the work settles; a failure is marked with its SQLSTATE (or error name), not its message. */
async function ended<T>(span: Span, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    // PostgreSQL messages can quote the offending value ("invalid input syntax for type uuid: …").
    const code = (error as { code?: unknown }).code;
    const kind = typeof code === 'string' ? code : error instanceof Error ? error.name : 'unknown';
    span.setAttribute('error.type', kind);
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) span.setAttribute('db.response.status_code', code);
    span.setStatus({ code: SpanStatusCode.ERROR, message: kind });
    throw error;
  } finally {
    span.end();
  }
}
