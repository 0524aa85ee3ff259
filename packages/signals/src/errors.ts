// Signals' registered error codes. Seed 001 fixes the text of some 400 answers (`callgraphId is
// required`, ...); those messages are passed verbatim as the problem `detail`.
import { defineError, ExitCode } from '@stella/core';

export const SignalsErrors = {
  runtimeInvalid: defineError({
    code: 'ERR_SIGNALS_RUNTIME_INVALID',
    status: 400,
    exit: ExitCode.usage,
    title: 'Runtime facts were refused',
    hint: 'Fix the named line or field (callgraphId, subject, symbolId, hitCount, observedAt) and re-send the whole batch; nothing was stored.',
  }),
  callgraphInvalid: defineError({
    code: 'ERR_SIGNALS_CALLGRAPH_INVALID',
    status: 400,
    exit: ExitCode.usage,
    title: 'Callgraph failed validation',
    hint: 'Send stella.callgraph.v1, richgraph-v1, the union NDJSON set or Jelly call-graph JSON with unique node ids and resolvable edges; nothing was stored.',
  }),
  callgraphNotFound: defineError({
    code: 'ERR_SIGNALS_CALLGRAPH_NOT_FOUND',
    status: 404,
    exit: ExitCode.notFound,
    title: 'Callgraph not found',
    hint: 'POST the graph to /signals/callgraphs first, and check the tenant; other tenants’ graphs are reported as not found.',
  }),
  factNotFound: defineError({
    code: 'ERR_SIGNALS_FACT_NOT_FOUND',
    status: 404,
    exit: ExitCode.notFound,
    title: 'No reachability fact for this subject',
    hint: 'Nothing was accepted for this subject: check its key (scanId, else imageDigest, else component|version, lower-cased) and the tenant, and ingest runtime facts for it first. A subject whose facts were accepted answers 202 until its fact is computed.',
  }),
  offlineStale: defineError({
    code: 'ERR_SIGNALS_TIME_ANCHOR_STALE',
    status: 422,
    exit: ExitCode.verificationFailed,
    title: 'Time anchor is older than the staleness budget',
    hint: 'Refresh the time anchor (or resync NTP) and rebuild the bundle, or raise signals.offlineStalenessBudgetSeconds.',
  }),
  offlineHashMismatch: defineError({
    code: 'ERR_SIGNALS_MANIFEST_MISMATCH',
    status: 422,
    exit: ExitCode.verificationFailed,
    title: 'A file does not match the bundle manifest',
    hint: 'Recompute sha256sum of the named file and compare it with manifest.json; re-transfer the bundle.',
  }),
  homeInUse: defineError({
    code: 'ERR_SIGNALS_HOME_IN_USE',
    status: 409,
    exit: ExitCode.failure,
    title: 'A running stella server owns the embedded database of this STELLA_HOME',
    hint: 'Stop that server and run the offline ingest again, or send the trace through the running server: `stella signals ingest-runtime --graph-hash <sha256> --runtime <file>` (POST /api/v1/runtime-facts?graph_hash=…).',
  }),
  dsseInvalid: defineError({
    code: 'ERR_SIGNALS_DSSE_INVALID',
    status: 422,
    exit: ExitCode.verificationFailed,
    title: 'DSSE envelope does not verify',
    hint: 'Check signals.trustRootsPath holds the signer’s public key and that the envelope covers this runtime trace.',
  }),
  coverageBelowMinimum: defineError({
    code: 'ERR_SIGNALS_COVERAGE_LOW',
    status: 422,
    exit: ExitCode.verificationFailed,
    title: 'Fewer runtime symbols map onto the callgraph than --min-ratio requires',
    hint: 'Check that the trace was recorded from the build the callgraph describes and names symbols the way the graph does (the command prints a sample of the unmapped ones); lower --min-ratio only if partial coverage is expected.',
  }),
};
