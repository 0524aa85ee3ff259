// The load generator of `npm run bench -- api` (bench/api.ts starts it in a process of its own, so
// its CPU is not the server's): CONCURRENCY closed-loop clients for SECONDS over loopback, each
// request drawn from the mix (seeded, so two runs send the same sequence), one in five as
// the second tenant. `node bench/api-client.ts <plan.json>` prints one JSON line: per operation the
// count, errors and latency percentiles.
import { readFileSync } from 'node:fs';
import { osvTemplates, osvVariant } from './kit.ts';
import { prng } from './prng.ts';

export interface ClientPlan {
  base: string;
  seconds: number;
  concurrency: number;
  tenants: {
    name: string;
    token: string;
    callgraphId: string;
    /** Record ids and CVE aliases of stored advisories, for by-id reads and lookups. */
    ids: string[];
    cves: string[];
  }[];
  /** Document numbers for ingests start here (distinct from the seeded ones). */
  firstNewDocument: number;
}

type Op = 'list' | 'getById' | 'linksets' | 'timelineRead' | 'ingest' | 'timelineWrite' | 'runtimeFacts';

/** The mix, in percent. */
export const MIX: Record<Op, number> = {
  list: 40,
  getById: 15,
  linksets: 10,
  timelineRead: 10,
  ingest: 15,
  timelineWrite: 5,
  runtimeFacts: 5,
};

const OPS = Object.entries(MIX) as [Op, number][];

function pick(r: number): Op {
  let acc = 0;
  for (const [op, share] of OPS) {
    acc += share / 100;
    if (r < acc) return op;
  }
  return OPS.at(-1)![0];
}

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function main(plan: ClientPlan) {
  const templates = osvTemplates();
  const latencies = new Map<Op, number[]>(OPS.map(([op]) => [op, []]));
  const errors = new Map<Op, number>(OPS.map(([op]) => [op, 0]));
  const statuses = new Map<string, number>();
  let nextDocument = plan.firstNewDocument;
  const deadline = performance.now() + plan.seconds * 1000;
  const since = new Date().toISOString();

  async function request(op: Op, rnd: () => number): Promise<Response> {
    const tenant = rnd() < 0.2 ? plan.tenants[1]! : plan.tenants[0]!;
    const headers: Record<string, string> = {
      authorization: `Bearer ${tenant.token}`,
      'x-stella-tenant': tenant.name,
    };
    const any = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
    const get = (path: string) => fetch(`${plan.base}${path}`, { headers });
    const post = (path: string, body: string, contentType = 'application/json', extra: Record<string, string> = {}) =>
      fetch(`${plan.base}${path}`, {
        method: 'POST',
        headers: { ...headers, 'content-type': contentType, ...extra },
        body,
      });
    switch (op) {
      case 'list':
        return rnd() < 0.5
          ? get(`/advisories/raw?limit=50&cve=${encodeURIComponent(any(tenant.cves))}`)
          : get('/advisories/raw?limit=50');
      case 'getById':
        return get(`/advisories/raw/${encodeURIComponent(any(tenant.ids))}`);
      case 'linksets':
        return get(`/v1/lnm/linksets?cve=${encodeURIComponent(any(tenant.cves))}&pageSize=10`);
      case 'timelineRead':
        // Following the timeline: events since the load began. The first page of a store loaded in
        // batches (oldest first) is the loader's events, each listing 1,000 documents: 4 MB a page.
        return get(`/api/v1/timeline/events?limit=50&since=${encodeURIComponent(since)}`);
      case 'ingest': {
        const doc = osvVariant(templates, nextDocument++);
        return post('/ingest/advisory', doc.text, 'application/json', { 'x-stella-source-vendor': doc.vendor });
      }
      case 'timelineWrite':
        return post(
          '/timeline/events',
          JSON.stringify({ category: 'bench', kind: 'bench.tick', details: { at: Date.now() } }),
        );
      case 'runtimeFacts':
        return post(
          '/signals/runtime-facts',
          JSON.stringify({
            callgraphId: tenant.callgraphId,
            subject: { component: 'bench', version: '1.0.0' },
            events: [{ symbolId: 'bench#main', hitCount: 1, observedAt: new Date().toISOString() }],
          }),
        );
    }
  }

  async function client(index: number) {
    const rnd = prng(0x5eed + index);
    while (performance.now() < deadline) {
      const op = pick(rnd());
      const started = performance.now();
      let status = 0;
      try {
        const res = await request(op, rnd);
        status = res.status;
        await res.arrayBuffer();
      } catch {
        status = -1;
      }
      latencies.get(op)!.push(performance.now() - started);
      statuses.set(String(status), (statuses.get(String(status)) ?? 0) + 1);
      if (status < 200 || status >= 300) errors.set(op, errors.get(op)! + 1);
    }
  }

  const started = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(Array.from({ length: plan.concurrency }, (_, i) => client(i)));
  const seconds = (performance.now() - started) / 1000;
  const cpuUsed = process.cpuUsage(cpu);
  const all = [...latencies.values()].flat().sort((a, b) => a - b);
  const ms = (n: number) => Math.round(n * 10) / 10;
  const totalErrors = [...errors.values()].reduce((a, b) => a + b, 0);
  return {
    seconds: ms(seconds),
    cpuSeconds: ms((cpuUsed.user + cpuUsed.system) / 1e6),
    requests: all.length,
    requestsPerSecond: ms(all.length / seconds),
    errors: totalErrors,
    errorRate: all.length ? Math.round((totalErrors / all.length) * 10_000) / 10_000 : 0,
    statuses: Object.fromEntries([...statuses].sort()),
    latencyMs: { p50: ms(percentile(all, 50)), p90: ms(percentile(all, 90)), p99: ms(percentile(all, 99)) },
    operations: Object.fromEntries(
      OPS.map(([op]) => {
        const xs = latencies.get(op)!.sort((a, b) => a - b);
        return [
          op,
          { count: xs.length, errors: errors.get(op)!, p50Ms: ms(percentile(xs, 50)), p99Ms: ms(percentile(xs, 99)) },
        ];
      }),
    ),
  };
}

if (process.argv[2]) {
  const plan = JSON.parse(readFileSync(process.argv[2], 'utf8')) as ClientPlan;
  process.stdout.write(`${JSON.stringify(await main(plan))}\n`);
}
