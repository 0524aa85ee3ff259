// SPDX-License-Identifier: Apache-2.0
// The Export Center's operations artefacts stay consistent with what stella exposes: the Prometheus
// rules (ops/prometheus/export-center.rules.yml) and the Grafana dashboards (ops/grafana/) reference
// only metrics that exist, carry the runbook's alert names, and point at anchors that exist in
// docs/runbooks/export.md; promtool (Debian package `prometheus`) checks every rule file and runs the
// rule unit tests.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  grafanaPanels as allPanels,
  assertGrafanaDashboard,
  findExecutable,
  type GrafanaDashboard,
  promqlMetricNames as metricNames,
} from '@stella/testkit';
import { parse as parseYaml } from 'yaml';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PROM_DIR = join(ROOT, 'ops/prometheus');
const RULES = join(PROM_DIR, 'export-center.rules.yml');
const RULE_TESTS = join(PROM_DIR, 'export-center.rules.test.yml');
const RUNBOOK = join(ROOT, 'docs/runbooks/export.md');

/** The metrics the Export Center exposes (seed 002 §3 plus the retention timestamp, queue and storage gauges). */
const EXPORT_METRICS = [
  'exporter_run_duration_seconds',
  'exporter_run_failures_total',
  'exporter_run_bytes_total',
  'exporter_distribution_push_seconds',
  'exporter_verify_failures_total',
  'exporter_retention_pruned_total',
  'exporter_retention_last_run_timestamp_seconds',
  'exporter_jobs_ready',
  'exporter_runs_active',
  'exporter_storage_bytes_total',
];
const EXPORT_HISTOGRAMS = ['exporter_run_duration_seconds', 'exporter_distribution_push_seconds'];
const RUNBOOK_ALERTS = [
  'ExportCenterRunFailureSpike',
  'ExportCenterVerifyFailure',
  'ExportCenterWorkerLag',
  'ExportCenterRetentionStale',
];

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
/** Metric names documented in docs/metrics.md (first column of its table), with histogram series. */
function knownMetrics(): Set<string> {
  const known = new Set<string>();
  const add = (name: string, type: string) => {
    known.add(name);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) known.add(name + suffix);
  };
  for (const name of EXPORT_METRICS) add(name, EXPORT_HISTOGRAMS.includes(name) ? 'histogram' : 'other');
  const doc = readFileSync(join(ROOT, 'docs/metrics.md'), 'utf8');
  for (const m of doc.matchAll(/^\|\s*`([a-zA-Z_:][\w:]*)`\s*\|\s*(\w+)\s*\|/gm)) add(m[1]!, m[2]!);
  return known;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function markdownAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const m = !fenced && /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const slug = m[1]!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    let anchor = slug;
    for (let n = 1; anchors.has(anchor); n++) anchor = `${slug}-${n}`;
    anchors.add(anchor);
  }
  return anchors;
}

function loadRules(file: string): Rule[] {
  const doc = parseYaml(readFileSync(file, 'utf8')) as { groups: { name: string; rules: Rule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

function loadDashboard(name: string): GrafanaDashboard {
  return JSON.parse(readFileSync(join(ROOT, 'ops/grafana', name), 'utf8')) as GrafanaDashboard;
}

describe('PromQL metric name extraction', () => {
  test('finds selectors and skips functions, labels, strings, durations and keywords', () => {
    assert.deepEqual(
      metricNames(
        'sum by (profile) (increase(exporter_run_failures_total{error_code=~"a|b"}[15m] offset 5m)) > 3 unless on (x) foo:bar:p95 or vector(0) and time() - up',
      ).sort(),
      ['exporter_run_failures_total', 'foo:bar:p95', 'up'],
    );
    assert.deepEqual(metricNames('histogram_quantile(0.95, sum(rate(h_bucket[$__rate_interval])) by (le)) * 3600'), [
      'h_bucket',
    ]);
  });
});

describe('ops/prometheus/export-center.rules.yml', () => {
  const rules = loadRules(RULES);
  const alerts = rules.filter((r) => r.alert);
  const recorded = new Set(rules.flatMap((r) => (r.record ? [r.record] : [])));

  test('has the four alerts of the runbook', () => {
    const names = alerts.map((r) => r.alert);
    for (const name of RUNBOOK_ALERTS) assert.ok(names.includes(name), `alert ${name} missing`);
    assert.equal(new Set(names).size, names.length, 'alert names are unique');
  });

  test('every expression references only metrics stella exposes (or rules recorded here)', () => {
    const known = knownMetrics();
    for (const rule of rules) {
      const names = metricNames(rule.expr);
      assert.ok(names.length > 0, `${rule.alert ?? rule.record}: no metric found in ${rule.expr}`);
      for (const name of names) {
        assert.ok(known.has(name) || recorded.has(name), `${rule.alert ?? rule.record}: unknown metric ${name}`);
      }
    }
  });

  test('alerts carry severity, summary, description and a runbook_url that resolves', () => {
    const anchors = markdownAnchors(readFileSync(RUNBOOK, 'utf8'));
    for (const rule of alerts) {
      assert.match(rule.labels?.severity ?? '', /^(critical|warning|info)$/, `${rule.alert}: severity`);
      assert.ok(rule.annotations?.summary, `${rule.alert}: summary`);
      assert.ok(rule.annotations?.description, `${rule.alert}: description`);
      const url = rule.annotations?.runbook_url ?? '';
      const m = /^docs\/runbooks\/export\.md#([\w-]+)$/.exec(url);
      assert.ok(m, `${rule.alert}: runbook_url ${url}`);
      assert.equal(m[1], rule.alert!.toLowerCase(), `${rule.alert}: the anchor is the alert name`);
      assert.ok(anchors.has(m[1]!), `${rule.alert}: docs/runbooks/export.md has no heading #${m[1]}`);
    }
  });

  test('thresholds of the runbook', () => {
    const byName = new Map(alerts.map((r) => [r.alert, r]));
    assert.match(byName.get('ExportCenterRunFailureSpike')!.expr, /by \(profile\).*\[15m\].*>\s*3\b/s);
    assert.match(byName.get('ExportCenterWorkerLag')!.expr, /exporter_jobs_ready\)?\s*>\s*10\b/);
    assert.equal(byName.get('ExportCenterWorkerLag')!.for, '10m');
    assert.match(byName.get('ExportCenterVerifyFailure')!.expr, /exporter_verify_failures_total/);
    assert.match(byName.get('ExportCenterRetentionStale')!.expr, /exporter_retention_last_run_timestamp_seconds/);
    assert.match(byName.get('ExportCenterRetentionStale')!.expr, /86400/);
  });
});

describe('ops/grafana dashboards', () => {
  const dashboards: [string, string, string][] = [
    ['export-center-run-health.json', 'Export Center / Run Health', 'stella-export-run-health'],
    ['export-center-distribution.json', 'Export Center / Distribution', 'stella-export-distribution'],
  ];
  const known = knownMetrics();
  const recorded = new Set(loadRules(RULES).flatMap((r) => (r.record ? [r.record] : [])));

  for (const [file, title, uid] of dashboards) {
    test(`${file}: "${title}", fixed uid, Prometheus as an input, known metrics only`, () => {
      const d = loadDashboard(file);
      assert.equal(d.title, title);
      assert.equal(d.uid, uid);
      const targets = assertGrafanaDashboard(d, (name) => known.has(name) || recorded.has(name));
      assert.ok(targets >= 5, `${file}: only ${targets} targets`);
    });
  }

  test('Run Health shows throughput, p95 against both SLOs, failure classes, queue, bytes, storage, verify and retention', () => {
    const exprs = allPanels(loadDashboard('export-center-run-health.json').panels)
      .flatMap((p) => p.targets ?? [])
      .map((t) => t.expr ?? '')
      .join('\n');
    for (const metric of EXPORT_METRICS.filter((m) => m !== 'exporter_distribution_push_seconds')) {
      assert.ok(exprs.includes(metric), `Run Health does not show ${metric}`);
    }
    for (const code of ['"signing"', '"distribution"', 'ERR_EXPORT_004']) assert.ok(exprs.includes(code), code);
  });

  test('Distribution shows push p95 by driver, distribution failures and bytes', () => {
    const exprs = allPanels(loadDashboard('export-center-distribution.json').panels)
      .flatMap((p) => p.targets ?? [])
      .map((t) => t.expr ?? '')
      .join('\n');
    assert.match(
      exprs,
      /histogram_quantile\(0\.95, sum by \(driver, le\) \(rate\(exporter_distribution_push_seconds_bucket/,
    );
    assert.match(exprs, /exporter_run_failures_total\{error_code="distribution"/);
    assert.match(exprs, /exporter_run_bytes_total/);
  });
});

describe('promtool', () => {
  // A prerequisite (scripts/prerequisites.ts): missing, it fails here at once with its package name.
  const promtool = () => findExecutable('promtool');

  test('check rules: every rule file in ops/prometheus', () => {
    const files = readdirSync(PROM_DIR)
      .filter((f) => f.endsWith('.rules.yml'))
      .map((f) => join(PROM_DIR, f));
    assert.ok(files.includes(RULES));
    const run = spawnSync(promtool(), ['check', 'rules', ...files], { encoding: 'utf8' });
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
  });

  test('test rules: every *.rules.test.yml in ops/prometheus', () => {
    const tests = readdirSync(PROM_DIR).filter((f) => f.endsWith('.rules.test.yml'));
    assert.ok(tests.includes(basename(RULE_TESTS)), tests.join());
    // Every rule file has its unit tests.
    const rules = readdirSync(PROM_DIR).filter((f) => f.endsWith('.rules.yml'));
    assert.deepEqual(rules.map((f) => f.replace(/\.yml$/, '.test.yml')).sort(), [...tests].sort());
    const run = spawnSync(promtool(), ['test', 'rules', ...tests], { encoding: 'utf8', cwd: PROM_DIR });
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
  });
});

describe('amtool', () => {
  // A prerequisite (scripts/prerequisites.ts, Debian prometheus-alertmanager).
  const amtool = () => findExecutable('amtool');
  const CONFIG = join(ROOT, 'ops/alertmanager/alertmanager.yml');
  /** The receiver `amtool config routes test` picks for these labels. */
  const routeOf = (labels: Record<string, string>) => {
    const run = spawnSync(
      amtool(),
      ['config', 'routes', 'test', `--config.file=${CONFIG}`, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)],
      { encoding: 'utf8' },
    );
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    return run.stdout.trim();
  };

  test('check-config: ops/alertmanager/alertmanager.yml', () => {
    const run = spawnSync(amtool(), ['check-config', CONFIG], { encoding: 'utf8' });
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
  });

  test("every alert in ops/prometheus reaches a named receiver; the seed's Export.Center routes take the Export Center's", () => {
    const alerts = readdirSync(PROM_DIR)
      .filter((f) => f.endsWith('.rules.yml'))
      .flatMap((f) =>
        [...readFileSync(join(PROM_DIR, f), 'utf8').matchAll(/- alert: (\w+)\n(?:.*\n)*?.*?\bseverity: (\w+)/g)].map(
          (m) => ({
            alert: m[1]!,
            severity: m[2]!,
          }),
        ),
      );
    assert.ok(alerts.length >= 15, alerts.map((a) => a.alert).join());
    const routes = Object.fromEntries(
      alerts.map((a) => [a.alert, routeOf({ alertname: a.alert, severity: a.severity })]),
    );
    assert.equal(routes.ExportCenterVerifyFailure, 'Export.Center.Verify');
    for (const alert of alerts.filter(
      (a) => a.alert.startsWith('ExportCenter') && a.alert !== 'ExportCenterVerifyFailure',
    )) {
      assert.equal(routes[alert.alert], 'Export.Center.Failures', alert.alert);
    }
    assert.equal(routes.AocViolations, 'Stella.Aoc');
    assert.equal(routes.ReachabilityOrphanTraces, 'Stella.Reachability');
    assert.equal(routes.StellaDeadLettersCritical, 'Stella.Platform.Critical');
    assert.equal(routes.StellaDeadLettersWarning, 'stella-ops');
  });
});
