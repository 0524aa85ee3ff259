// The Grafana dashboards that span rooms (ops/grafana/stella-*.json and any other but the Export
// Center's, which packages/export/test/ops.test.ts covers) and the platform, AOC and Signals alert
// rules select only metrics a real server exposes: one is started in-process on the suite's backend
// and its GET /metrics is the list of names. Each dashboard shows the figures its seed asks for, every
// expression parses (promtool), and the orchestrator's job figures move with a real failing job.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  assertGrafanaDashboard,
  exposedSeriesNames,
  findExecutable,
  type GrafanaDashboard,
  grafanaPanels,
  promqlMetricNames,
  scratchDir,
  testBackend,
  waitFor,
} from '@stella/testkit';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { startTestServer, type TestServer } from './helpers.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const GRAFANA_DIR = join(ROOT, 'ops/grafana');
const PROM_DIR = join(ROOT, 'ops/prometheus');
// A limiter block makes the rate limiter's metrics register, as in a deployment that limits.
const RATE_LIMITED =
  'rate_limiting:\n  for_instance:\n    rules:\n      - per_seconds: 60\n        max_requests: 1000\n';

const DASHBOARDS = readdirSync(GRAFANA_DIR)
  .filter((f) => f.endsWith('.json') && !f.startsWith('export-center-'))
  .sort();
const RULE_FILES = readdirSync(PROM_DIR)
  .filter((f) => /^stella-.*\.rules\.yml$/.test(f))
  .sort();

function loadDashboard(file: string): GrafanaDashboard {
  return JSON.parse(readFileSync(join(GRAFANA_DIR, file), 'utf8')) as GrafanaDashboard;
}

/** Every PromQL expression of a dashboard, one per line. */
function exprsOf(file: string): string {
  return grafanaPanels(loadDashboard(file).panels)
    .flatMap((p) => p.targets ?? [])
    .map((t) => t.expr ?? '')
    .join('\n');
}

/**
 * A dashboard expression as Prometheus would receive it: Grafana's interval and the dashboard's
 * variables (`$queue`, `$source`: "All" is a match-anything regex) replaced.
 */
function asPromql(expr: string): string {
  return expr.replaceAll('$__rate_interval', '5m').replaceAll('$__interval', '1m').replace(/\$\w+/g, '.*');
}

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
}

describe(`ops dashboards and alert rules against a server's /metrics on ${testBackend()}`, () => {
  let server: TestServer;
  let exposed: Set<string>;

  before(async () => {
    server = await startTestServer({}, RATE_LIMITED);
    const res = await fetch(`${server.base}/metrics`, {
      headers: { authorization: `Bearer ${await server.token('metrics:read')}` },
    });
    assert.equal(res.status, 200);
    exposed = exposedSeriesNames(await res.text());
  });
  after(() => server?.close());

  test('the scrape is a real one: every room registers its metrics', () => {
    for (const name of [
      'stella_http_requests_total',
      'stella_queue_jobs',
      'stella_queue_job_failures_total',
      'stella_signals_recompute_seconds_bucket',
      'aoc_violation_total',
      'router_ratelimit_circuit_state',
      'exporter_run_failures_total',
    ]) {
      assert.ok(exposed.has(name), `${name} not exposed`);
    }
  });

  test('the dashboards of Signals, AOC and the orchestrator are there, each with its own uid', () => {
    for (const file of ['stella-signals.json', 'stella-aoc.json', 'stella-orchestrator.json']) {
      assert.ok(DASHBOARDS.includes(file), `${file} missing`);
    }
    const uids = DASHBOARDS.map((f) => loadDashboard(f).uid);
    assert.equal(new Set(uids).size, uids.length, `uids are unique: ${uids.join(', ')}`);
  });

  for (const file of DASHBOARDS) {
    test(`${file}: well formed, Prometheus as an input, only metrics the server exposes`, () => {
      const d = loadDashboard(file);
      assert.equal(d.uid, file.replace(/\.json$/, ''), 'the uid is the file name');
      assert.ok(d.title.trim(), 'title');
      const targets = assertGrafanaDashboard(d, (name) => exposed.has(name));
      assert.ok(targets >= 5, `only ${targets} targets`);
    });
  }

  test("Signals shows the seed's scoring latency, cache hit rates, sensor staleness, orphans and ingest rate", () => {
    const exprs = exprsOf('stella-signals.json');
    for (const metric of [
      'stella_signals_recompute_seconds_bucket',
      'stella_signals_cache_requests_total{cache="graph", result="hit"}',
      'stella_signals_fact_staleness_seconds_bucket',
      'stella_signals_runtime_last_batch_timestamp_seconds',
      'stella_reachability_orphan_traces_total',
      'stella_signals_runtime_events_total',
    ]) {
      assert.ok(exprs.includes(metric), `Signals does not show ${metric}`);
    }
  });

  test("AOC shows seed 004 §4's figures, connectors and verify", () => {
    const exprs = exprsOf('stella-aoc.json');
    for (const metric of [
      'aoc_violation_total',
      'ingestion_write_total',
      'ingestion_signature_verified_total',
      'ingestion_latency_seconds_bucket',
      'verify_runs_total',
      'verify_duration_seconds_bucket',
      'stella_queue_job_failures_total',
    ]) {
      assert.ok(exprs.includes(metric), `AOC does not show ${metric}`);
    }
    assert.match(exprs, /sum by \(code\) \(increase\(aoc_violation_total/, 'violations by ERR_AOC code');
  });

  test('the orchestrator shows depth by state, dead letters, backpressure, failures by code and the rate limiter', () => {
    const exprs = exprsOf('stella-orchestrator.json');
    for (const state of ['queued', 'active', 'dead_letter']) assert.ok(exprs.includes(`state="${state}"`), state);
    for (const metric of [
      'stella_queue_oldest_ready_seconds',
      'stella_queue_job_attempts_total',
      'stella_queue_job_duration_seconds_bucket',
      'router_ratelimit_decisions_total{decision="deny"}',
      'router_ratelimit_valkey_errors_total',
      'router_ratelimit_circuit_state',
    ]) {
      assert.ok(exprs.includes(metric), `the orchestrator does not show ${metric}`);
    }
    assert.match(exprs, /sum by \(error_code\) \(rate\(stella_queue_job_failures_total/, 'error clustering');
    // Each process reports the database-wide queue counts: summing instances would multiply them.
    assert.doesNotMatch(exprs, /sum by \(queue[^)]*\) \(stella_queue_jobs/);
  });

  test("the orchestrator's figures move on the running server: a failing job's attempt, error code and dead letter", async () => {
    const { queue } = server.server.ctx;
    await queue.define('e2e.ops-fragile', { retryLimit: 0 });
    await queue.work('e2e.ops-fragile', async () => {
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    });
    await queue.send('e2e.ops-fragile', { tenant: 'default' });
    const scrape = async () =>
      (
        await fetch(`${server.base}/metrics`, {
          headers: { authorization: `Bearer ${await server.token('metrics:read')}` },
        })
      ).text();
    // pg-boss polls every 2 s and dead-letters at once with no retries left.
    const metrics = await waitFor(
      'the job in the dead-letter queue',
      async () => {
        const text = await scrape();
        return text.includes('stella_queue_jobs{queue="e2e.ops-fragile",state="dead_letter"} 1') && text;
      },
      { deadlineMs: 60_000 },
    );
    assert.match(metrics, /^stella_queue_job_attempts_total\{queue="e2e.ops-fragile",outcome="failed"\} 1$/m);
    assert.match(metrics, /^stella_queue_job_failures_total\{queue="e2e.ops-fragile",error_code="ECONNREFUSED"\} 1$/m);
    assert.match(metrics, /^stella_queue_job_duration_seconds_count\{queue="e2e.ops-fragile"\} 1$/m);
    assert.match(metrics, /^stella_queue_oldest_ready_seconds\{queue="e2e.ops-fragile"\} 0$/m);
  });

  test('every dashboard expression parses as PromQL (promtool check rules on them as recording rules)', () => {
    // A prerequisite (scripts/prerequisites.ts, Debian `prometheus`): missing, it fails here with its package name.
    const promtool = findExecutable('promtool');
    const rules = DASHBOARDS.flatMap((file) =>
      grafanaPanels(loadDashboard(file).panels)
        .flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ''))
        .map((expr, n) => ({ record: `dashboard:${file.replace(/\W/g, '_')}:${n}`, expr: asPromql(expr) })),
    );
    assert.ok(rules.length >= 15, `${rules.length} expressions`);
    const dir = scratchDir('stella-dashboard-promql-');
    const file = join(dir, 'dashboards.rules.yml');
    writeFileSync(file, stringifyYaml({ groups: [{ name: 'dashboards', rules }] }));
    const run = spawnSync(promtool, ['check', 'rules', file], { encoding: 'utf8' });
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
  });

  test('stella-*.rules.yml: every alert expression selects only exposed metrics', () => {
    assert.ok(RULE_FILES.includes('stella-platform.rules.yml'), RULE_FILES.join());
    for (const file of RULE_FILES) {
      const doc = parseYaml(readFileSync(join(PROM_DIR, file), 'utf8')) as { groups: { rules: Rule[] }[] };
      const rules = doc.groups.flatMap((g) => g.rules);
      const recorded = new Set(rules.flatMap((r) => (r.record ? [r.record] : [])));
      for (const rule of rules) {
        const names = promqlMetricNames(rule.expr);
        assert.ok(names.length > 0, `${file} ${rule.alert ?? rule.record}: no metric in ${rule.expr}`);
        for (const name of names) {
          assert.ok(exposed.has(name) || recorded.has(name), `${file} ${rule.alert ?? rule.record}: unknown ${name}`);
        }
      }
    }
  });
});
