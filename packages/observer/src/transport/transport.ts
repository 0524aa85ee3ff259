// SPDX-License-Identifier: Apache-2.0
// The transport: takes mapped runtime events, guards the host (rate and CPU), batches them, sends
// each batch to Signals once, and keeps what could not be sent in the spool until it can. Nothing in
// here throws into the host or leaves a rejection unhandled; failures become counters and lastError.
import { createHash, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { AccessTokens } from './access-token.ts';
import { backoffDelay, parseRetryAfter } from './backoff.ts';
import { checkEvent, encodeBody, type RuntimeEvent, sortEvents, toNdjson } from './batch.ts';
import type { ObserverConfig } from './config.ts';
import { CpuGuard } from './cpu-guard.ts';
import { registerExitHooks } from './exit-hooks.ts';
import { OriginClient } from './http.ts';
import { type BatchHeader, type Receipt, Spool, type SpoolEntry, type SpooledBatch } from './spool.ts';
import { TokenBucket } from './token-bucket.ts';

export type DropReason = 'rate_limit' | 'cpu_guard' | 'spool_full' | 'rejected' | 'invalid' | 'spool_error' | 'closed';

export interface TransportStats {
  /** Events accepted into a batch. */
  recorded: number;
  /** Events Signals accepted (a batch answered as a duplicate counts once, when first accepted or now). */
  sent: number;
  batchesSent: number;
  /** Events written to the spool. */
  spooled: number;
  /** Sends of a spooled batch (each retry counts). */
  retried: number;
  /** `sampler.dropped{reason}`: events lost, by reason. */
  dropped: Record<DropReason, number>;
  lastError: string | undefined;
  /** The last Retry-After (ms) the server asked for on a 429/503 and the spool waited out. */
  retryAfterMs: number | undefined;
  spoolBytes: number;
  spoolBatches: number;
  /** Events waiting in memory (the open batch and batches queued to send). */
  pending: number;
}

export interface TransportOptions {
  /** Wall clock in ms; tests pass their own only where it is the code path under test. */
  now?: () => number;
  random?: () => number;
  /** Warnings (a refused batch, a spool that cannot be written); default: one line on stderr. */
  log?: (message: string, fields: Record<string, unknown>) => void;
  /** false: no process exit hooks (the host flushes and closes itself). Default true. */
  exitHooks?: boolean;
}

export interface Transport {
  /** Never throws; an event it cannot take is counted in stats().dropped. */
  record(event: RuntimeEvent): void;
  /** Sends what is pending and what the spool holds; resolves once idle or waiting out a backoff. Never rejects. */
  flush(): Promise<void>;
  /** Stops taking events, flushes, and releases timers, sockets and exit hooks. Never rejects. */
  close(): Promise<void>;
  stats(): TransportStats;
}

/** Batches held in memory before the rest go to disk: memory stays bounded while Signals is slow. */
const MAX_MEMORY_BATCHES = 4;

interface Outcome {
  kind: 'accepted' | 'retry' | 'rejected';
  error?: string;
  retryAfterMs?: number;
  answer?: string;
}

const defaultLog = (message: string, fields: Record<string, unknown>) => {
  try {
    process.stderr.write(`stella-observer: ${message} ${JSON.stringify(fields)}\n`);
  } catch {
    // stderr closed: nothing else to tell
  }
};

/** The spool directory of one target: readable name, plus a hash so tenants and servers never share one. */
export function spoolDirFor(config: ObserverConfig): string {
  const safe = config.callgraphId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64);
  const hash = createHash('sha256')
    .update(`${config.endpoint.origin}\u0000${config.tenant}\u0000${config.callgraphId}`)
    .digest('hex')
    .slice(0, 8);
  return join(config.spoolDir, `${safe}-${hash}`);
}

export function createTransport(config: ObserverConfig, options: TransportOptions = {}): Transport {
  return new RuntimeTransport(config, options);
}

class RuntimeTransport implements Transport {
  private readonly config: ObserverConfig;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly log: (message: string, fields: Record<string, unknown>) => void;
  private readonly cpu: CpuGuard;
  private readonly bucket: TokenBucket;
  private readonly client: OriginClient;
  private readonly accessTokens: AccessTokens;
  readonly spool: Spool;
  private spoolOk = true;

  private buffer: RuntimeEvent[] = [];
  private outgoing: SpooledBatch[] = [];
  /** The memory batch being sent: spooled by the exit hook if the process ends mid-request. */
  private inFlight: SpooledBatch | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly spills = new Set<Promise<void>>();
  private attempt = 0;
  private nextAttemptAt = 0;
  private exiting = false;
  private closed = false;
  private readonly loggedCodes = new Set<string>();
  private readonly unregister: () => void;
  private readonly counters: TransportStats;

  constructor(config: ObserverConfig, options: TransportOptions) {
    this.config = config;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.log = options.log ?? defaultLog;
    this.cpu = new CpuGuard(config.maxCpuPercent);
    this.bucket = new TokenBucket(config.maxEventsPerSecond, this.now());
    this.client = new OriginClient(config.endpoint);
    this.accessTokens = new AccessTokens(config, this.client, this.now);
    this.counters = {
      recorded: 0,
      sent: 0,
      batchesSent: 0,
      spooled: 0,
      retried: 0,
      dropped: { rate_limit: 0, cpu_guard: 0, spool_full: 0, rejected: 0, invalid: 0, spool_error: 0, closed: 0 },
      lastError: undefined,
      retryAfterMs: undefined,
      spoolBytes: 0,
      spoolBatches: 0,
      pending: 0,
    };
    this.spool = new Spool(spoolDirFor(config), config.spoolMaxBytes);
    try {
      this.spool.openSync();
    } catch (error) {
      this.spoolOk = false;
      this.fail(`spool directory ${this.spool.dir} is not usable: ${(error as Error).message}`);
    }
    this.unregister =
      options.exitHooks === false
        ? () => {}
        : registerExitHooks({
            hasPending: () => this.buffer.length > 0 || this.outgoing.length > 0,
            flushForExit: () => this.flushForExit(),
            spoolPendingSync: () => this.spoolPendingSync(),
          });
    // Batches a previous process left behind go first.
    if (this.spool.size > 0) this.kick();
  }

  record(event: RuntimeEvent): void {
    try {
      if (this.closed) {
        this.drop('closed', 1);
        return;
      }
      const now = this.now();
      // The CPU guard first: an event it drops must not use up a rate token.
      if (this.cpu.over(now)) {
        this.drop('cpu_guard', 1);
        return;
      }
      if (!this.bucket.take(now)) {
        this.drop('rate_limit', 1);
        return;
      }
      const checked = checkEvent(event);
      if (!checked) {
        this.drop('invalid', 1);
        return;
      }
      this.buffer.push(checked);
      this.counters.recorded++;
      if (this.buffer.length >= this.config.batchSize) {
        this.cut();
        this.kick();
      } else if (!this.flushTimer) {
        this.flushTimer = setTimeout(() => {
          this.flushTimer = undefined;
          this.cut();
          this.kick();
        }, this.config.flushIntervalMs);
        this.flushTimer.unref();
      }
    } catch (error) {
      this.fail(`record: ${(error as Error).message}`);
    }
  }

  async flush(): Promise<void> {
    try {
      this.cut();
      // New work can arrive while we wait (a spill finishing kicks the pump again): wait until quiet,
      // which is also the case while the spool waits out a backoff.
      for (let rounds = 0; rounds < 10_000; rounds++) {
        this.kick();
        await Promise.allSettled([this.running, ...this.spills]);
        const quiet = !this.running && this.spills.size === 0 && this.outgoing.length === 0;
        if (quiet && (this.spool.size === 0 || this.nextAttemptAt > this.now())) break;
      }
    } catch (error) {
      this.fail(`flush: ${(error as Error).message}`);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flush();
    clearTimeout(this.flushTimer);
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.unregister();
    // Whatever is still in memory (a send that failed while closing) must not be lost.
    this.spoolPendingSync();
    this.client.close();
  }

  stats(): TransportStats {
    return {
      ...this.counters,
      dropped: { ...this.counters.dropped },
      spoolBytes: this.spool.bytes,
      spoolBatches: this.spool.size,
      pending: this.buffer.length + this.outgoing.reduce((n, b) => n + b.header.events, 0),
    };
  }

  // ---- guards -------------------------------------------------------------------------------

  private drop(reason: DropReason, events: number): void {
    this.counters.dropped[reason] += events;
  }

  private fail(message: string): void {
    this.counters.lastError = message.slice(0, 1000);
  }

  // ---- batching -----------------------------------------------------------------------------

  /** Closes the open batch: sorted, serialised, queued in memory or, past the memory cap, spooled. */
  private cut(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.buffer.length === 0) return;
    const events = this.buffer;
    this.buffer = [];
    const ndjson = this.cpu.measure(() => toNdjson(sortEvents(events)), this.now);
    const { config } = this;
    const header: BatchHeader = {
      v: 1,
      ingestId: `obs-${randomUUID()}`,
      tenant: config.tenant,
      callgraphId: config.callgraphId,
      subject: config.subject,
      ...(config.analysisId ? { analysisId: config.analysisId } : {}),
      events: events.length,
    };
    this.outgoing.push({ header, ndjson });
    // Keep order: once anything is spooled, later batches queue behind it on disk.
    if (this.spool.size > 0 || this.outgoing.length > MAX_MEMORY_BATCHES) this.spillOutgoing();
  }

  /** Moves the memory queue to the spool in order (sequence numbers are taken synchronously, in order). */
  private spillOutgoing(): void {
    const batches = this.outgoing;
    this.outgoing = [];
    for (const batch of batches) this.toSpool(batch);
  }

  private toSpool(batch: SpooledBatch): void {
    if (!this.spoolOk) {
      this.drop('spool_error', batch.header.events);
      return;
    }
    const writing = this.spool
      .put(batch)
      .then(
        (lost) => {
          if (lost > 0) this.drop('spool_full', lost);
          this.counters.spooled += batch.header.events - Math.min(lost, batch.header.events);
        },
        (error: Error) => {
          this.drop('spool_error', batch.header.events);
          this.fail(`spool write failed: ${error.message}`);
          this.log('cannot write to the spool; the batch is lost', { dir: this.spool.dir, error: error.message });
        },
      )
      .finally(() => {
        this.spills.delete(writing);
        this.kick();
      });
    this.spills.add(writing);
  }

  /** On process exit (synchronous only): the open batch, the memory queue and an unfinished send go to disk. */
  private spoolPendingSync(): void {
    try {
      this.cut();
      const batches = [...(this.inFlight ? [this.inFlight] : []), ...this.outgoing];
      this.inFlight = undefined;
      this.outgoing = [];
      for (const batch of batches) {
        if (!this.spoolOk) {
          this.drop('spool_error', batch.header.events);
          continue;
        }
        const lost = this.spool.putSync(batch);
        if (lost > 0) this.drop('spool_full', lost);
        this.counters.spooled += batch.header.events;
      }
    } catch (error) {
      this.fail(`spooling at exit: ${(error as Error).message}`);
    }
  }

  // ---- sending ------------------------------------------------------------------------------

  private kick(): void {
    if (this.running) return;
    this.running = this.pump()
      .catch((error: Error) => this.fail(`send loop: ${error.message}`))
      .finally(() => {
        this.running = undefined;
      });
  }

  /** One batch at a time: the spool oldest first (after its backoff), then the memory queue. */
  private async pump(): Promise<void> {
    for (;;) {
      if (this.spool.size > 0) {
        if (this.spills.size > 0) return; // a spill in progress kicks us again when written
        const wait = this.nextAttemptAt - this.now();
        if (wait > 0) return this.armRetry(wait);
        const entry = this.spool.oldest()!;
        if (!(await this.sendSpooled(entry))) return;
        continue;
      }
      const batch = this.outgoing.shift();
      if (!batch) return;
      this.inFlight = batch;
      const outcome = await this.send(batch);
      this.inFlight = undefined;
      if (outcome.kind === 'retry') {
        this.retryLater(outcome);
        this.toSpool(batch);
        this.spillOutgoing();
        return;
      }
      if (outcome.kind === 'rejected') {
        this.rejected(batch.header, outcome);
        if (this.spoolOk) {
          await this.spool.rejectBatch(batch, outcome.answer ?? '').catch((e: Error) => this.fail(e.message));
        }
      }
    }
  }

  /** Sends a spooled batch; false when the loop must stop (backoff armed). */
  private async sendSpooled(entry: SpoolEntry): Promise<boolean> {
    let batch: SpooledBatch | undefined;
    try {
      batch = await this.spool.read(entry);
    } catch (error) {
      // Unreadable (corrupt header): keep it for inspection, out of the retry loop.
      this.drop('rejected', entry.events);
      this.fail(`spool file ${entry.name} is unreadable: ${(error as Error).message}`);
      await this.spool.reject(entry, JSON.stringify({ error: (error as Error).message }));
      return true;
    }
    if (!batch) return true;
    this.spool.busy = entry.name;
    this.counters.retried++;
    const outcome = await this.send(batch);
    this.spool.busy = undefined;
    if (outcome.kind === 'retry') {
      this.retryLater(outcome);
      return false;
    }
    this.attempt = 0;
    if (outcome.kind === 'rejected') {
      this.rejected(batch.header, outcome);
      await this.spool.reject(entry, outcome.answer ?? '');
    } else {
      await this.spool.remove(entry);
    }
    return true;
  }

  private retryLater(outcome: Outcome): void {
    this.attempt++;
    if (outcome.retryAfterMs !== undefined) this.counters.retryAfterMs = outcome.retryAfterMs;
    const delay = outcome.retryAfterMs ?? backoffDelay(this.attempt, this.random);
    this.nextAttemptAt = this.now() + delay;
    if (outcome.error) this.fail(outcome.error);
  }

  private armRetry(waitMs: number): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, waitMs);
    this.retryTimer.unref();
  }

  private rejected(header: BatchHeader, outcome: Outcome): void {
    this.drop('rejected', header.events);
    this.fail(outcome.error ?? 'batch refused');
    let code = 'unknown';
    let detail: unknown;
    try {
      const problem = JSON.parse(outcome.answer ?? '{}') as { code?: unknown; detail?: unknown; status?: unknown };
      code = String(problem.code ?? problem.status ?? 'unknown');
      detail = problem.detail;
    } catch {
      // not JSON: logged without a code
    }
    // Once per code: a misconfiguration refuses every batch, and one line says it all.
    if (this.loggedCodes.has(code)) return;
    this.loggedCodes.add(code);
    this.log('Signals refused a batch; it was moved to rejected/ and will not be retried', {
      code,
      detail,
      ingestId: header.ingestId,
      rejectedDir: this.spool.rejectedDir,
    });
  }

  private subjectQuery(header: BatchHeader): URL {
    const url = new URL('signals/runtime-facts/ndjson', this.config.endpoint);
    url.searchParams.set('callgraphId', header.callgraphId);
    const subject = header.subject;
    if ('scanId' in subject) url.searchParams.set('scanId', subject.scanId);
    else {
      url.searchParams.set('component', subject.component);
      url.searchParams.set('version', subject.version);
    }
    return url;
  }

  private async send(batch: SpooledBatch): Promise<Outcome> {
    const { header } = batch;
    const timeoutMs = this.exiting
      ? Math.min(this.config.requestTimeoutMs, this.config.exitFlushTimeoutMs)
      : this.config.requestTimeoutMs;
    let status = 0;
    try {
      const { body, gzip } = this.cpu.measure(() => encodeBody(batch.ndjson), this.now);
      const token = await this.accessTokens.get(timeoutMs, this.exiting);
      const headers: Record<string, string> = {
        'content-type': 'application/x-ndjson',
        accept: 'application/json',
        authorization: `Bearer ${token}`,
        'x-stella-tenant': header.tenant,
        'x-callgraph-id': header.callgraphId,
        // Signals counts a batch once per ingest id, so a retry after a lost answer is not counted twice.
        'x-ingest-id': header.ingestId,
        ...(header.analysisId ? { 'x-analysis-id': header.analysisId } : {}),
        ...(gzip ? { 'content-encoding': 'gzip' } : {}),
      };
      const answer = await this.client.post(this.subjectQuery(header), headers, body, {
        timeoutMs,
        ref: this.exiting,
      });
      status = answer.status;
      const text = answer.body.toString('utf8');
      if (status >= 200 && status < 300) {
        await this.accepted(header, body, answer.headers, text);
        return { kind: 'accepted' };
      }
      const error = `Signals answered ${status}: ${text.slice(0, 300)}`;
      if (status === 401 && this.accessTokens.renewable) {
        this.accessTokens.invalidate();
        return { kind: 'retry', error };
      }
      if (status === 408 || status === 429 || status >= 500) {
        const retryAfter = Array.isArray(answer.headers['retry-after'])
          ? answer.headers['retry-after'][0]
          : answer.headers['retry-after'];
        const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(retryAfter, this.now()) : undefined;
        return { kind: 'retry', error, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
      }
      return { kind: 'rejected', error, answer: text };
    } catch (error) {
      // Unreachable, reset, timed out, or the token endpoint failed: all transient from here.
      return { kind: 'retry', error: `sending to ${this.client.origin}: ${(error as Error).message}` };
    }
  }

  private async accepted(
    header: BatchHeader,
    body: Buffer,
    headers: Record<string, string | string[] | undefined>,
    text: string,
  ): Promise<void> {
    this.counters.sent += header.events;
    this.counters.batchesSent++;
    let answer: { subjectKey?: unknown; ingestId?: unknown; contentSha256?: unknown; duplicate?: unknown } = {};
    try {
      answer = JSON.parse(text);
    } catch {
      // a 2xx without JSON still means accepted
    }
    const one = (name: string) => {
      const v = headers[name];
      return typeof v === 'string' && v ? v.replace(/^sha256:/, '') : undefined;
    };
    // The NDJSON route answers the decoded digest in the body (contentSha256); the seed 000 route in a header.
    const decoded =
      one('x-decoded-sha256') ??
      (typeof answer.contentSha256 === 'string' ? answer.contentSha256.replace(/^sha256:/, '') : undefined);
    const receipt: Receipt = {
      sentAt: new Date(this.now()).toISOString(),
      events: header.events,
      bodySha256: createHash('sha256').update(body).digest('hex'),
      ...(one('content-sha256') ? { contentSha256: one('content-sha256')! } : {}),
      ...(decoded ? { decodedSha256: decoded } : {}),
      ingestId: typeof answer.ingestId === 'string' ? answer.ingestId : header.ingestId,
      ...(typeof answer.subjectKey === 'string' ? { subjectKey: answer.subjectKey } : {}),
      ...(answer.duplicate === true ? { duplicate: true } : {}),
    };
    if (this.spoolOk) await this.spool.appendReceipt(receipt).catch((e: Error) => this.fail(`receipt: ${e.message}`));
  }

  /** beforeExit / SIGTERM / SIGINT: send the pending batches within the exit deadline, then stop. */
  private async flushForExit(): Promise<void> {
    this.exiting = true;
    try {
      this.cut();
      const deadline = new Promise<void>((resolve) => {
        setTimeout(resolve, this.config.exitFlushTimeoutMs).unref();
      });
      await Promise.race([this.flush(), deadline]);
    } finally {
      this.exiting = false;
    }
  }
}
