// Mixed API load (issue 17, item 4): `npm run bench -- api`. Per backend (PostgreSQL, then the
// embedded PGlite default) a fresh in-process stella on 127.0.0.1 is seeded with
// STELLA_BENCH_API_ADVISORIES generated OSV advisories (default 23,000, the baseline) in the
// default tenant and 500 in a second tenant (acme, an auth.clients entry), then
// STELLA_BENCH_API_CLIENTS closed-loop clients (default 16) run for STELLA_BENCH_API_SECONDS
// (default 60) in a process of their own (bench/api-client.ts) with the mix: 40 % advisory
// lists, 15 % get by id, 10 % linksets, 10 % timeline reads (events since the load began), 15 % advisory ingest, 5 % timeline
// writes, 5 % runtime facts; one request in five as the second tenant. Reported: req/s, error
// rate, p50/p90/p99 overall and per operation, and the server process's peak RSS.
// STELLA_BENCH_API_PROFILE=<dir> also writes a CPU profile of the server during each load phase.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { aocService } from '@stella/aoc';
import { hashSecret } from '@stella/authority';
import type { RunningServer } from '@stella/server';
import { createDatabase, startPostgres } from '@stella/testkit';
import type { ClientPlan } from './api-client.ts';
import {
  adminToken,
  benchMachine,
  createLoader,
  memorySampler,
  osvTemplates,
  osvVariant,
  postgresCpuSeconds,
  timed,
  withBenchServer,
} from './kit.ts';

const ADVISORIES = Number(process.env.STELLA_BENCH_API_ADVISORIES ?? 23_000);
const SECOND_TENANT_ADVISORIES = 500;
const SECONDS = Number(process.env.STELLA_BENCH_API_SECONDS ?? 60);
const CLIENTS = Number(process.env.STELLA_BENCH_API_CLIENTS ?? 16);
const SECOND_TENANT = 'acme';
const SECOND_SECRET = 'bench-acme-secret-0123456789abcdef';
/** Ids and CVEs handed to the clients per tenant (a sample of what is stored). */
const SAMPLE = 500;

const run = promisify(execFile);

export async function runApiBench() {
  const started = { date: new Date().toISOString(), load: Number(loadavg()[0]!.toFixed(2)) };
  const yaml = `auth:\n  clients:\n    - clientId: bench-acme\n      secretHash: "${await hashSecret(SECOND_SECRET)}"\n      tenants: [${SECOND_TENANT}]\n      scopes: [advisory:read, advisory:ingest, timeline:read, timeline:write, signals:read, signals:write]\n`;
  const results: Record<string, unknown> = {};
  const cluster = await startPostgres();
  try {
    const database = await createDatabase(cluster.adminUrl, cluster.appUrl, 'bench_api');
    try {
      results.postgres = await benchBackend('postgres', yaml, database.url);
    } finally {
      await database.drop();
    }
  } finally {
    await cluster.stop();
  }
  results.pglite = await benchBackend('pglite', yaml);
  return {
    command: 'npm run bench -- api',
    date: started.date,
    machine: benchMachine(started.load),
    advisories: { default: ADVISORIES, [SECOND_TENANT]: SECOND_TENANT_ADVISORIES },
    clients: CLIENTS,
    seconds: SECONDS,
    ...results,
  };
}

async function benchBackend(backend: 'pglite' | 'postgres', yaml: string, databaseUrl?: string) {
  return withBenchServer(
    `api-${backend}`,
    databaseUrl,
    async (server, home) => {
      const templates = osvTemplates();
      const loading = await timed(() =>
        createLoader(aocService(server.ctx), (n) => osvVariant(templates, n), `${backend} seed`).loadTo(ADVISORIES),
      );
      const adminTok = await adminToken(server, home);
      const acmeTok = await clientToken(server, 'bench-acme', SECOND_SECRET);
      await seedSecondTenant(server, acmeTok, templates);
      const plan: ClientPlan = {
        base: server.url,
        seconds: SECONDS,
        concurrency: CLIENTS,
        tenants: [await tenantPlan(server, 'default', adminTok), await tenantPlan(server, SECOND_TENANT, acmeTok)],
        firstNewDocument: 10_000_000,
      };
      const planFile = join(home, 'api-plan.json');
      writeFileSync(planFile, JSON.stringify(plan));
      console.error(
        `${backend}: seeded ${ADVISORIES} advisories in ${loading.seconds.toFixed(1)} s; ${CLIENTS} clients for ${SECONDS} s…`,
      );
      const memory = memorySampler();
      const profiler = await startProfile();
      const serverCpu = process.cpuUsage();
      const pgCpu = postgresCpuSeconds();
      const wall = performance.now();
      const { stdout } = await run(process.execPath, [join(import.meta.dirname, 'api-client.ts'), planFile], {
        maxBuffer: 1 << 20,
        timeout: (SECONDS + 120) * 1000,
      });
      const mem = memory.stop();
      const wallSeconds = (performance.now() - wall) / 1000;
      const serverCpuUsed = process.cpuUsage(serverCpu);
      await profiler?.stop(join(process.env.STELLA_BENCH_API_PROFILE ?? '', `api-${backend}.cpuprofile`));
      const load = JSON.parse(stdout) as Record<string, unknown>;
      console.error(
        `${backend}: ${JSON.stringify({ rps: load.requestsPerSecond, errors: load.errors, latency: load.latencyMs })}`,
      );
      const share = (seconds: number) => Number((seconds / wallSeconds).toFixed(2));
      return {
        ...load,
        // CPU seconds per wall second during the load (2 = both cores busy), per process group.
        cpuCores: {
          server: share((serverCpuUsed.user + serverCpuUsed.system) / 1e6),
          client: share((load as { cpuSeconds: number }).cpuSeconds),
          ...(backend === 'postgres' ? { postgres: share(postgresCpuSeconds() - pgCpu) } : {}),
        },
        serverRssPeakMiB: mem.rssPeakMiB,
        serverRssGrowthMiB: mem.rssGrowthMiB,
        eventLoopDelayP99Ms: mem.eventLoopDelayP99Ms,
        seedSeconds: Number(loading.seconds.toFixed(1)),
      };
    },
    { yaml },
  );
}

/** STELLA_BENCH_API_PROFILE=<dir>: a CPU profile of the server process during the load, per backend. */
async function startProfile() {
  if (!process.env.STELLA_BENCH_API_PROFILE) return undefined;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop(file: string) {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
      console.error(`wrote ${file}`);
    },
  };
}

async function clientToken(server: RunningServer, clientId: string, secret: string): Promise<string> {
  const res = await fetch(`${server.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }),
  });
  if (!res.ok) throw new Error(`token for ${clientId}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** The second tenant's advisories, through the batch API (the loader writes the default tenant). */
async function seedSecondTenant(server: RunningServer, token: string, templates: ReturnType<typeof osvTemplates>) {
  for (let i = 0; i < SECOND_TENANT_ADVISORIES; i += 100) {
    const body = Array.from({ length: Math.min(100, SECOND_TENANT_ADVISORIES - i) }, (_, k) => {
      const doc = osvVariant(templates, 5_000_000 + i + k);
      return JSON.stringify({ source: { vendor: doc.vendor }, content: { raw: doc.text } });
    }).join('\n');
    const res = await fetch(`${server.url}/ingest/advisory/batch`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'x-stella-tenant': SECOND_TENANT,
        'content-type': 'application/x-ndjson',
      },
      body,
    });
    if (!res.ok) throw new Error(`seeding ${SECOND_TENANT}: ${res.status} ${await res.text()}`);
  }
}

/** A tenant's token, a callgraph for its runtime facts, and a sample of its stored ids and CVEs. */
async function tenantPlan(
  server: RunningServer,
  tenant: string,
  token: string,
): Promise<ClientPlan['tenants'][number]> {
  const headers = { authorization: `Bearer ${token}`, 'x-stella-tenant': tenant };
  const graph = {
    schema: 'stella.callgraph.v1',
    metadata: { language: 'javascript', component: 'bench', version: '1.0.0' },
    nodes: [{ id: 'bench#main', name: 'main' }],
    edges: [],
    entrypoints: [{ nodeId: 'bench#main', kind: 'main', order: 0 }],
  };
  const posted = await fetch(`${server.url}/signals/callgraphs`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify(graph),
  });
  if (!posted.ok) throw new Error(`callgraph for ${tenant}: ${posted.status} ${await posted.text()}`);
  const { callgraphId } = (await posted.json()) as { callgraphId: string };
  const listed = await fetch(`${server.url}/advisories/raw?limit=${SAMPLE}`, { headers });
  if (!listed.ok) throw new Error(`listing ${tenant}: ${listed.status} ${await listed.text()}`);
  const { items } = (await listed.json()) as { items: { id: string; identifiers: { cve: string[] } }[] };
  const cves = items.flatMap((i) => i.identifiers.cve);
  if (items.length === 0 || cves.length === 0) throw new Error(`${tenant} has no advisories to read`);
  return { name: tenant, token, callgraphId, ids: items.map((i) => i.id), cves };
}
