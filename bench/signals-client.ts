// The load generator of `npm run bench -- signals` (bench/signals.ts starts it in a process of its
// own, so its CPU is not the server's): gzip NDJSON batches of BATCH_EVENTS runtime events, built
// from a seed before the clock starts, POSTed by `concurrency` closed-loop clients to
// /signals/runtime-facts/ndjson over loopback. `node bench/signals-client.ts <plan.json>` prints one
// JSON line: events/s, batch latency percentiles and the client's own CPU seconds.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { prng } from './prng.ts';

export const BATCH_EVENTS = 1000;
/** Distinct symbols the batches draw from (the bench graph has as many nodes). */
export const RUNTIME_SYMBOLS = 5000;

export interface SignalsClientPlan {
  base: string;
  token: string;
  callgraphId: string;
  concurrency: number;
  subjects: number;
  batches: number;
  /** Seeds the batches; a run with another seed sends other content (no duplicates). */
  seed: number;
}

/** `count` gzip (level 6, as the observer sends them) NDJSON batches of BATCH_EVENTS events. */
export function runtimeBatches(count: number, seed: number): Buffer[] {
  const rand = prng(seed);
  const out: Buffer[] = [];
  for (let b = 0; b < count; b++) {
    const lines: string[] = [];
    for (let i = 0; i < BATCH_EVENTS; i++) {
      lines.push(
        JSON.stringify({
          symbolId: `pkg:npm/bench:fn${Math.floor(rand() * RUNTIME_SYMBOLS)}`,
          hitCount: 1 + Math.floor(rand() * 5),
          processName: 'node',
          containerId: `c${b % 7}`,
          observedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, b, i)).toISOString(),
        }),
      );
    }
    out.push(gzipSync(`${lines.join('\n')}\n`, { level: 6 }));
  }
  return out;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const round = (v: number, d = 1) => Number(v.toFixed(d));

async function main(plan: SignalsClientPlan) {
  const bodies = runtimeBatches(plan.batches, plan.seed);
  const headers = {
    authorization: `Bearer ${plan.token}`,
    'x-stella-tenant': 'default',
    'content-type': 'application/x-ndjson',
    'content-encoding': 'gzip',
  };
  const post = async (body: Buffer, i: number) => {
    const t0 = performance.now();
    const res = await fetch(
      `${plan.base}/signals/runtime-facts/ndjson?callgraphId=${plan.callgraphId}&scanId=bench-${i % plan.subjects}`,
      { method: 'POST', headers, body },
    );
    await res.arrayBuffer();
    if (res.status !== 202) throw new Error(`ingest answered ${res.status}`);
    return performance.now() - t0;
  };
  const latencies: number[] = [];
  let next = 0;
  const cpu = process.cpuUsage();
  const start = performance.now();
  await Promise.all(
    Array.from({ length: plan.concurrency }, async () => {
      while (next < bodies.length) {
        const i = next++;
        latencies.push(await post(bodies[i]!, i));
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const cpuUsed = process.cpuUsage(cpu);
  latencies.sort((a, b) => a - b);
  return {
    batches: bodies.length,
    events: bodies.length * BATCH_EVENTS,
    seconds: round(seconds, 2),
    eventsPerSecond: Math.round((bodies.length * BATCH_EVENTS) / seconds),
    batchP50Ms: round(percentile(latencies, 50)),
    batchP99Ms: round(percentile(latencies, 99)),
    clientCpuSeconds: round((cpuUsed.user + cpuUsed.system) / 1e6, 2),
  };
}

if (process.argv[1] === import.meta.filename) {
  const plan = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as SignalsClientPlan;
  process.stdout.write(`${JSON.stringify(await main(plan))}\n`);
}
