// The reads behind the fact routes: a subject's fact, or its pending state (inputs accepted, no fact
// covering them yet) and a bounded wait for one; its fact as served (JSON with version, or VEX); and
// the unknowns reported for it or found by the engine; and the page of subjects that have a fact.
import { StellaError } from '@stella/core';
import type { SignalsContext } from '../context.ts';
import type { TargetState } from '../engine/reachability.ts';
import { SignalsErrors } from '../errors.ts';
import { pickSubject, subjectKeyOf } from '../runtime/subject.ts';
import {
  type FactRow,
  type FactSummaryRow,
  insertReportedUnknowns,
  selectFact,
  selectFactSummaries,
  selectUnknowns,
} from '../sql/facts.ts';
import { selectOldestOrphan, selectSubjectInputs } from '../sql/runtime.ts';
import { assertStorableText } from '../text.ts';
import { ORPHAN_RETRY_SECONDS } from '../topics.ts';
import { toCycloneDx, toOpenVex, type VexFormat } from '../vex.ts';

/** Longest `?wait=` on the fact routes: well under the usual 60 s proxy and client read timeouts. */
export const MAX_FACT_WAIT_SECONDS = 30;
/**
 * Retry-After of a fact whose recompute is pending: the recompute worker polls its queue every 2 s
 * (pg-boss default) and a subject takes well under a second.
 */
const PENDING_RETRY_AFTER_SECONDS = 2;
/** Retry-After of a subject whose runtime facts wait for their callgraph: the orphan retry period. */
const ORPHAN_RETRY_AFTER_SECONDS = ORPHAN_RETRY_SECONDS;
/**
 * A waiting request re-reads the fact this often: recomputes in this process wake it at once, this
 * catches those of a worker in another process.
 */
const FACT_WAIT_POLL_MS = 500;

/** A subject whose inputs were accepted but whose fact does not cover them yet (GET answers 202). */
export interface PendingFact {
  subjectKey: string;
  status: 'pending';
  /** recompute: queued or running; callgraph: its runtime facts wait for their graph to be ingested. */
  waitingFor: 'recompute' | 'callgraph';
  /** When the oldest input the fact does not cover yet was accepted. */
  since: string;
  retryAfterSeconds: number;
  /** The version of the older fact stored for the subject, when there is one. */
  factVersion: number | null;
  /** The graph the parked runtime facts name, when waiting for a callgraph. */
  graphHash?: string;
}

export type FactAnswer = { status: 'ready'; fact: FactRow } | PendingFact;

/** What POST /signals/unknowns carries: a subject key, or the subject to derive it from. */
export interface UnknownsReport {
  subject?: object;
  subjectKey?: string;
  callgraphId?: string;
  unknowns: { symbolId: string; reason: string }[];
}

/** The fact document as GET /signals/facts/{subjectKey} answers it: with its version, digest and CAS copy. */
export function factBody(fact: FactRow): Record<string, unknown> {
  return {
    ...fact.document,
    fact_version: fact.factVersion,
    digest: fact.digest,
    casUri: fact.casUri,
    computedAt: fact.computedAt,
  };
}

/** The fact as VEX: OpenVEX 0.2.0 or CycloneDX 1.6. */
export function factAsVex(fact: FactRow, format: VexFormat): Record<string, unknown> {
  const doc = fact.document as { states: TargetState[]; subject?: Record<string, string> };
  const input = {
    subjectKey: fact.subjectKey,
    states: doc.states,
    factVersion: fact.factVersion,
    digest: fact.digest,
    computedAt: fact.computedAt,
    ...(doc.subject ? { subject: doc.subject } : {}),
  };
  return format === 'cyclonedx' ? toCycloneDx(input) : toOpenVex(input);
}

export async function getFact(ctx: SignalsContext, tenant: string, subjectKey: string): Promise<FactRow> {
  assertStorableText(subjectKey, 'subjectKey');
  const fact = await ctx.inTenant(tenant, (tx) => selectFact(tx, tenant, subjectKey));
  if (!fact) throw new StellaError(SignalsErrors.factNotFound, `no reachability fact for subject ${subjectKey}`);
  return fact;
}

/** The stored fact, the subject's inputs and, for a subject not created yet, its oldest parked batch. */
async function readFactState(ctx: SignalsContext, tenant: string, subjectKey: string) {
  return ctx.inTenant(tenant, async (tx) => {
    const fact = await selectFact(tx, tenant, subjectKey);
    const inputs = await selectSubjectInputs(tx, tenant, subjectKey);
    const orphan = inputs ? undefined : await selectOldestOrphan(tx, tenant, subjectKey);
    return { fact, inputs, orphan };
  });
}
type FactState = Awaited<ReturnType<typeof readFactState>>;

/**
 * The fact of a subject for GET /signals/facts: `ready` with the stored fact, or `pending` when its
 * runtime facts or graph were accepted and no fact covers them yet; 404 when nothing was ever
 * accepted for it. Without `waitSeconds` a stored fact is answered even while a newer recompute is
 * pending. With it, the answer waits (at most that long) for a fact covering every input accepted
 * before the call, and is `pending` if there is none by then.
 */
export async function readFact(
  ctx: SignalsContext,
  tenant: string,
  subjectKey: string,
  options: { waitSeconds?: number; signal?: AbortSignal } = {},
): Promise<FactAnswer> {
  assertStorableText(subjectKey, 'subjectKey');
  const waitSeconds = Math.min(Math.max(options.waitSeconds ?? 0, 0), MAX_FACT_WAIT_SECONDS);
  const waiter = waitSeconds > 0 ? ctx.factWaiters.subscribe(tenant, subjectKey) : undefined;
  try {
    let state = await readFactState(ctx, tenant, subjectKey);
    if (!state.fact && !state.inputs && !state.orphan) {
      throw new StellaError(
        SignalsErrors.factNotFound,
        `no reachability fact for subject ${subjectKey}, and no runtime facts or callgraph were accepted for it`,
      );
    }
    if (!waiter) return state.fact ? { status: 'ready', fact: state.fact } : pendingOf(ctx, subjectKey, state);
    // The inputs accepted before this call; later ones do not keep it waiting.
    const target = state.inputs?.inputsVersion;
    const covered = (s: FactState): s is FactState & { fact: FactRow } =>
      s.fact !== undefined && s.inputs !== undefined && s.fact.inputsVersion >= (target ?? s.inputs.inputsVersion);
    // A bounded wait on the wall clock (a timeout, not a recorded time, so not the injected clock).
    const deadline = Date.now() + waitSeconds * 1000;
    while (!covered(state)) {
      const left = deadline - Date.now();
      if (left <= 0 || options.signal?.aborted) break;
      await waiter.next(Math.min(left, FACT_WAIT_POLL_MS), options.signal);
      state = await readFactState(ctx, tenant, subjectKey);
    }
    return covered(state) ? { status: 'ready', fact: state.fact } : pendingOf(ctx, subjectKey, state);
  } finally {
    waiter?.close();
  }
}

function pendingOf(ctx: SignalsContext, subjectKey: string, state: FactState): PendingFact {
  const byCallgraph = !state.inputs && state.orphan;
  return {
    subjectKey,
    status: 'pending',
    waitingFor: byCallgraph ? 'callgraph' : 'recompute',
    since: state.inputs?.pendingSince ?? state.orphan?.receivedAt ?? ctx.deps.clock.now().toISOString(),
    retryAfterSeconds: byCallgraph ? ORPHAN_RETRY_AFTER_SECONDS : PENDING_RETRY_AFTER_SECONDS,
    factVersion: state.fact?.factVersion ?? null,
    ...(byCallgraph ? { graphHash: state.orphan!.graphHash } : {}),
  };
}

/** Stores reported unknowns; the subject key is the one given, else derived from the subject. */
export async function reportUnknowns(
  ctx: SignalsContext,
  tenant: string,
  input: UnknownsReport,
): Promise<{ subjectKey: string; stored: number }> {
  const subjectKey = input.subjectKey?.trim().toLowerCase() || subjectKeyOf(pickSubject(input.subject));
  assertStorableText(subjectKey, 'subjectKey');
  for (const [i, unknown] of input.unknowns.entries()) {
    assertStorableText(unknown.symbolId, `unknowns[${i}].symbolId`);
    assertStorableText(unknown.reason, `unknowns[${i}].reason`);
  }
  if (input.callgraphId) await ctx.graphs.getCallgraph(tenant, input.callgraphId);
  const stored = await ctx.inTenant(tenant, (tx) =>
    insertReportedUnknowns(tx, tenant, subjectKey, input.callgraphId || null, input.unknowns),
  );
  return { subjectKey, stored };
}

export async function listUnknowns(ctx: SignalsContext, tenant: string, subjectKey: string) {
  assertStorableText(subjectKey, 'subjectKey');
  return ctx.inTenant(tenant, (tx) => selectUnknowns(tx, tenant, subjectKey));
}

/** A page of the tenant's subjects with a fact; `nextCursor` is the last subject key when more follow. */
export async function listFacts(
  ctx: SignalsContext,
  tenant: string,
  query: { limit: number; cursor?: string | undefined },
): Promise<{ items: FactSummaryRow[]; nextCursor: string | null }> {
  if (query.cursor !== undefined) assertStorableText(query.cursor, 'cursor');
  // One row past the page says whether another page follows without a count over the tenant.
  const rows = await ctx.inTenant(tenant, (tx) => selectFactSummaries(tx, tenant, query.cursor, query.limit + 1));
  const items = rows.slice(0, query.limit);
  return { items, nextCursor: rows.length > query.limit ? (items.at(-1)?.subjectKey ?? null) : null };
}
