// Recompute: per subject, read its inputs, choose its targets, keep the stored fact when its inputs
// digest says nothing changed, else build the fact document (fact-document.ts, pure) and store it
// (CAS, fact version, unknowns, timeline, outbox event), only while the subject's inputs are still
// the ones read. Incremental: unchanged subjects cost a few reads.
import { Errors, StellaError } from '@stella/core';
import type { Tx } from '@stella/platform';
import type { LoadedGraph } from '../callgraphs/graphs.ts';
import type { SignalsContext } from '../context.ts';
import { SignalsErrors } from '../errors.ts';
import { type FactRow, replaceEngineUnknowns, selectFact, touchFactInputs, upsertFact } from '../sql/facts.ts';
import {
  lockSubjectInputs,
  runtimeSummary,
  type SubjectRow,
  selectHits,
  selectSubjects,
  setSubjectTargets,
  settleSubject,
} from '../sql/runtime.ts';
import { assertStorableText } from '../text.ts';
import { FACT_TOPIC, RECOMPUTE_QUEUE } from '../topics.ts';
import { buildFactDocument, type FactDocument, factInputsDigest } from './fact-document.ts';
import { chooseTargets, type DefaultTargetsCache } from './subject-targets.ts';
import { requestTargets } from './targets.ts';

/**
 * Tries per subject when its inputs keep changing while it is computed: each try re-reads them. A
 * few absorb a batch or a targets change arriving mid-way; under a steady stream the change's own
 * queued recompute writes the fact instead.
 */
const RECOMPUTE_ATTEMPTS = 3;

export interface RecomputeReport {
  subjects: SubjectReport[];
  durationMs: number;
}

export interface SubjectReport {
  subjectKey: string;
  /** superseded: its inputs kept changing while computed; the recompute queued by the change writes the fact. */
  status: 'updated' | 'unchanged' | 'superseded';
  factVersion?: number;
  digest?: string;
}

export interface RecomputeRequest {
  subjectKey?: string;
  targets?: unknown[];
  force?: boolean;
}

const noSubject = (subjectKey: string) =>
  new StellaError(SignalsErrors.factNotFound, `no subject ${subjectKey}: ingest runtime facts for it first`);

const bySubjectKey = (a: { subjectKey: string }, b: { subjectKey: string }) =>
  a.subjectKey < b.subjectKey ? -1 : a.subjectKey > b.subjectKey ? 1 : 0;

/**
 * Recomputes the facts of one subject or of every subject whose graph, runtime facts or targets
 * changed. A subject whose inputs change while it is computed is computed again from the new ones
 * (up to RECOMPUTE_ATTEMPTS times, then reported `superseded`: the recompute queued by that change
 * writes its fact), so the fact a run reports is the one stored when it returns.
 */
export async function recompute(
  ctx: SignalsContext,
  tenant: string,
  options: RecomputeRequest = {},
): Promise<RecomputeReport> {
  const started = performance.now();
  if (options.subjectKey !== undefined) assertStorableText(options.subjectKey, 'subjectKey');
  if (options.targets !== undefined) {
    if (!options.subjectKey) throw new StellaError(Errors.validation, 'targets need a subjectKey');
    await storeTargets(ctx, tenant, options.subjectKey, options.targets);
  }
  const subjects = await ctx.inTenant(tenant, (tx) => selectSubjects(tx, tenant, options.subjectKey));
  if (options.subjectKey && subjects.length === 0) throw noSubject(options.subjectKey);
  const report: RecomputeReport = { subjects: [], durationMs: 0 };
  const defaults: DefaultTargetsCache = new Map();
  // Subjects of the same graph one after another, so the graph cache serves them all.
  const ordered = [...subjects].sort((a, b) =>
    a.callgraphId < b.callgraphId ? -1 : a.callgraphId > b.callgraphId ? 1 : a.subjectKey < b.subjectKey ? -1 : 1,
  );
  for (const subject of ordered) {
    const outcome = await recomputeWithRetries(ctx, tenant, subject, options.force === true, defaults);
    if (outcome) report.subjects.push(outcome);
  }
  report.subjects.sort(bySubjectKey);
  report.durationMs = Math.round(performance.now() - started);
  return report;
}

/**
 * One subject, read again and recomputed while its inputs change under it (RECOMPUTE_ATTEMPTS);
 * undefined when it is gone on a re-read.
 */
async function recomputeWithRetries(
  ctx: SignalsContext,
  tenant: string,
  first: SubjectRow,
  force: boolean,
  defaults: DefaultTargetsCache,
): Promise<SubjectReport | undefined> {
  let subject: SubjectRow | undefined = first;
  for (let attempt = 1; subject; attempt++) {
    const outcome = await recomputeSubject(ctx, tenant, subject, force, defaults);
    if (outcome !== 'stale') return outcome;
    if (attempt >= RECOMPUTE_ATTEMPTS) return { subjectKey: subject.subjectKey, status: 'superseded' };
    subject = (await ctx.inTenant(tenant, (tx) => selectSubjects(tx, tenant, first.subjectKey)))[0];
  }
  return undefined;
}

/** One subject from the inputs in `subject`; 'stale' when they changed before its fact was committed. */
async function recomputeSubject(
  ctx: SignalsContext,
  tenant: string,
  subject: SubjectRow,
  force: boolean,
  defaults: DefaultTargetsCache,
): Promise<SubjectReport | 'stale'> {
  const { scoring } = ctx;
  const { cacheRequests, factsUpdated, recomputeSeconds, factStaleness } = ctx.metrics;
  const t0 = performance.now();
  const graph = await readGraph(ctx, tenant, subject);
  const hits = await ctx.inTenant(tenant, (tx) => selectHits(tx, tenant, subject.subjectKey));
  const chosen = await chooseTargets(ctx, tenant, subject, graph, hits, defaults);
  const graphHash = graph.row?.graphHash ?? null;
  const inputsDigest = factInputsDigest({
    graphHash,
    graphLoaded: graph.loaded !== undefined,
    runtimeVersion: subject.runtimeVersion,
    targets: chosen.targets,
    scoring,
  });
  const current = await ctx.inTenant(tenant, (tx) => selectFact(tx, tenant, subject.subjectKey));
  if (current && current.inputsDigest === inputsDigest && !force) {
    cacheRequests.inc({ cache: 'fact', result: 'hit' });
    return keepFact(ctx, tenant, subject, current, inputsDigest, current.digest);
  }
  cacheRequests.inc({ cache: 'fact', result: 'miss' });
  const runtime = await ctx.inTenant(tenant, (tx) => runtimeSummary(tx, tenant, subject.subjectKey));
  const fact = buildFactDocument({
    subject,
    graphHash,
    graph: graph.loaded,
    targets: chosen.targets,
    targetsSource: chosen.source,
    hits,
    runtime,
    scoring,
  });
  if (current && current.digest === fact.digest && !force)
    return keepFact(ctx, tenant, subject, current, inputsDigest, fact.digest);
  const written = await storeFact(ctx, tenant, subject, fact, inputsDigest);
  if (written === 'stale') return 'stale';
  if (written.value === undefined) {
    return {
      subjectKey: subject.subjectKey,
      status: 'unchanged',
      factVersion: current?.factVersion ?? 1,
      digest: fact.digest,
    };
  }
  factsUpdated.inc();
  recomputeSeconds.observe((performance.now() - t0) / 1000);
  if (runtime.lastSeen)
    factStaleness.observe(Math.max(0, (ctx.deps.clock.now().getTime() - Date.parse(runtime.lastSeen)) / 1000));
  return { subjectKey: subject.subjectKey, status: 'updated', factVersion: written.value, digest: fact.digest };
}

/** The subject's graph row and, when its blob is readable, the decoded graph. */
async function readGraph(
  ctx: SignalsContext,
  tenant: string,
  subject: SubjectRow,
): Promise<{ row: Awaited<ReturnType<SignalsContext['graphs']['findCallgraph']>>; loaded: LoadedGraph | undefined }> {
  const row = await ctx.graphs.findCallgraph(tenant, subject.callgraphId);
  try {
    return { row, loaded: row ? await ctx.graphs.loadGraph(row) : undefined };
  } catch (error) {
    ctx.deps.logger.warn(
      { err: error, callgraphId: subject.callgraphId },
      'graph blob unreadable; targets become unknown (graph_missing)',
    );
    return { row, loaded: undefined };
  }
}

/** The stored fact is what these inputs give; it now covers this inputs version too. */
async function keepFact(
  ctx: SignalsContext,
  tenant: string,
  subject: SubjectRow,
  fact: FactRow,
  inputsDigest: string,
  digest: string,
): Promise<SubjectReport | 'stale'> {
  if (fact.inputsVersion !== subject.inputsVersion || fact.inputsDigest !== inputsDigest) {
    const settled = await commitIfCurrent(ctx, tenant, subject, (tx) =>
      touchFactInputs(tx, tenant, subject.subjectKey, inputsDigest, subject.inputsVersion),
    );
    if (settled === 'stale') return 'stale';
  }
  return { subjectKey: subject.subjectKey, status: 'unchanged', factVersion: fact.factVersion, digest };
}

/** The document to CAS, then the new fact version with its unknowns, timeline and outbox events. */
async function storeFact(
  ctx: SignalsContext,
  tenant: string,
  subject: SubjectRow,
  fact: FactDocument,
  inputsDigest: string,
): Promise<{ value: number | undefined } | 'stale'> {
  const { blobs, timeline, clock } = ctx.deps;
  const { result, digest } = fact;
  const stored = await blobs.forTenant(tenant).put('reachability/facts', fact.bytes, { expectedDigest: digest });
  const computedAt = clock.now().toISOString();
  return commitIfCurrent(ctx, tenant, subject, async (tx) => {
    const version = await upsertFact(tx, tenant, {
      subjectKey: subject.subjectKey,
      callgraphId: subject.callgraphId,
      digest,
      casUri: stored.uri,
      inputsDigest,
      score: result.score,
      unknownsCount: result.unknowns.length,
      document: fact.document,
      computedAt,
      inputsVersion: subject.inputsVersion,
    });
    if (version === undefined) {
      // Same content as stored (a concurrent recompute of the same inputs wrote it): no new version, no event.
      await touchFactInputs(tx, tenant, subject.subjectKey, inputsDigest, subject.inputsVersion);
      return undefined;
    }
    await replaceEngineUnknowns(tx, tenant, subject.subjectKey, subject.callgraphId, result.unknowns);
    await timeline.append(tx, tenant, {
      category: 'evidence',
      kind: 'signals.fact.updated',
      details: {
        subjectKey: subject.subjectKey,
        factVersion: version,
        digest,
        casUri: stored.uri,
        score: result.score,
      },
    });
    const event = ctx.factEvent(tenant, subject.subjectKey, 'reachability', version, digest, 'application/json');
    await timeline.publish(tx, tenant, FACT_TOPIC, event);
    return version;
  });
}

/**
 * Runs `write` in a transaction that holds the subject's row lock, only while the subject's inputs
 * are still the ones this recompute read; 'stale' otherwise (an ingest or a targets change came in
 * meanwhile, and a fact computed from the older inputs must not overwrite the newer one). Clears
 * the subject's pending state and wakes waiters of its fact once committed.
 */
async function commitIfCurrent<T>(
  ctx: SignalsContext,
  tenant: string,
  subject: SubjectRow,
  write: (tx: Tx) => Promise<T>,
): Promise<{ value: T } | 'stale'> {
  const outcome = await ctx.inTenant(tenant, async (tx) => {
    const inputsVersion = await lockSubjectInputs(tx, tenant, subject.subjectKey);
    if (inputsVersion !== subject.inputsVersion) return 'stale' as const;
    const value = await write(tx);
    await settleSubject(tx, tenant, subject.subjectKey, subject.inputsVersion);
    return { value };
  });
  if (outcome !== 'stale') ctx.factWaiters.wake(tenant, subject.subjectKey);
  return outcome;
}

/** A request's targets, capped (signals.maxTargets) and reduced, stored as the subject's; [] restores the defaults. */
async function storeTargets(
  ctx: SignalsContext,
  tenant: string,
  subjectKey: string,
  requested: readonly unknown[],
): Promise<void> {
  const { config } = ctx.deps;
  if (requested.length > config.maxTargets) {
    throw new StellaError(Errors.validation, `at most ${config.maxTargets} targets (signals.maxTargets)`);
  }
  const targets = requestTargets(requested);
  await ctx.inTenant(tenant, (tx) => setSubjectTargets(tx, tenant, subjectKey, targets.length ? targets : null));
}

/** Validates and stores the request's targets now, then leaves the computation to the queue. */
export async function queueRecomputeJob(
  ctx: SignalsContext,
  tenant: string,
  body: RecomputeRequest,
): Promise<string | null> {
  if (body.subjectKey) {
    assertStorableText(body.subjectKey, 'subjectKey');
    const subjects = await ctx.inTenant(tenant, (tx) => selectSubjects(tx, tenant, body.subjectKey));
    if (subjects.length === 0) throw noSubject(body.subjectKey);
    if (body.targets !== undefined) await storeTargets(ctx, tenant, body.subjectKey, body.targets);
  } else if (body.targets !== undefined) {
    throw new StellaError(Errors.validation, 'targets need a subjectKey');
  }
  const data = {
    tenant,
    ...(body.subjectKey ? { subjectKey: body.subjectKey } : {}),
    ...(body.force ? { force: true } : {}),
  };
  if (!ctx.deps.queue) {
    await recompute(ctx, tenant, data);
    return null;
  }
  return ctx.deps.queue.send(RECOMPUTE_QUEUE, data, { key: tenant });
}
