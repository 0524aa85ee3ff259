// SPDX-License-Identifier: Apache-2.0
// @stella/observer: the Node.js runtime observer. V8 precise coverage names the functions that ran
// (runtime/sampler.ts, with the static builder's ids); the transport delivers them to Signals as
// NDJSON batches, guarded so the host process is never slowed, crashed or filled up by it.
// `node --import @stella/observer/register app.js` runs both (register.ts).

export type { RunningObserver } from './observe.ts';
export { startObserver } from './observe.ts';
export type { CoverageProfile, SamplerOptions, SamplerStats } from './runtime/sampler.ts';
export { CoverageSampler } from './runtime/sampler.ts';
export { BACKOFF_BASE_MS, BACKOFF_MAX_MS, backoffDelay, parseRetryAfter } from './transport/backoff.ts';
export type { RuntimeEvent } from './transport/batch.ts';
export { encodeBody, GZIP_LEVEL, GZIP_THRESHOLD_BYTES, sortEvents, toNdjson } from './transport/batch.ts';
export type { ObserverAuth, ObserverConfig, ObserverSubject } from './transport/config.ts';
export { observerConfig } from './transport/config.ts';
export { CPU_WINDOW_MS, CpuGuard } from './transport/cpu-guard.ts';
export { ObserverErrors } from './transport/errors.ts';
export type { BatchHeader, Receipt } from './transport/spool.ts';
export { decodeSpoolFile } from './transport/spool.ts';
export { TokenBucket } from './transport/token-bucket.ts';
export type { DropReason, Transport, TransportOptions, TransportStats } from './transport/transport.ts';
export { createTransport, spoolDirFor } from './transport/transport.ts';
