// Checks shared by the tests of ops/grafana and ops/prometheus: which metric names a PromQL expression
// selects, which series a /metrics exposition offers, and whether a Grafana dashboard is well formed
// (Prometheus as an input, unique panel ids, no overlaps, only metrics that exist).
import assert from 'node:assert/strict';

// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's datasource input variable, not a template
export const GRAFANA_DATASOURCE_UID = '${DS_PROMETHEUS}';

export interface GrafanaTarget {
  expr?: string;
  datasource?: { type?: string; uid?: string };
}
export interface GrafanaPanel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type?: string; uid?: string };
  targets?: GrafanaTarget[];
  panels?: GrafanaPanel[];
}
export interface GrafanaDashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  __inputs: { name: string; type: string; pluginId: string }[];
  panels: GrafanaPanel[];
  templating: { list: { name: string; type: string; definition?: string; query?: unknown }[] };
}

const PROMQL_KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'inf',
  'nan',
]);

/**
 * The metric names a PromQL expression selects. Strings, label matchers, range/subquery brackets and
 * grouping label lists are dropped first; what is left are functions/aggregations (followed by "("),
 * keywords, numbers and durations, and metric names.
 */
export function promqlMetricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/\d[\w.]*|[a-zA-Z_:][\w:]*/g)) {
    const token = m[0];
    if (/^\d/.test(token) || PROMQL_KEYWORDS.has(token.toLowerCase())) continue;
    const rest = stripped.slice(m.index + token.length);
    if (/^\s*\(/.test(rest)) continue; // function or aggregation
    names.add(token);
  }
  return [...names];
}

/**
 * Every series name a Prometheus text exposition offers, from its `# TYPE` lines: a histogram's
 * `_bucket`, `_sum` and `_count`, a summary's `_sum` and `_count` and the name itself.
 */
export function exposedSeriesNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const m of exposition.matchAll(/^# TYPE ([a-zA-Z_:][\w:]*) (\w+)$/gm)) {
    const [, name, type] = m as unknown as [string, string, string];
    names.add(name);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(name + suffix);
  }
  return names;
}

/** A dashboard's panels, with those nested in collapsed rows. */
export function grafanaPanels(panels: GrafanaPanel[]): GrafanaPanel[] {
  return panels.flatMap((p) => [p, ...grafanaPanels(p.panels ?? [])]);
}

/**
 * Asserts what every stella dashboard keeps: Prometheus as its only input, unique panel ids, every
 * panel and target on `${DS_PROMETHEUS}`, every PromQL expression selecting only metrics `isKnown`
 * accepts, panels on the 24-column grid without overlaps, and `label_values` variables on known
 * metrics. Returns the number of targets checked.
 */
export function assertGrafanaDashboard(d: GrafanaDashboard, isKnown: (metric: string) => boolean): number {
  assert.ok(d.schemaVersion >= 36, `schemaVersion ${d.schemaVersion}`);
  assert.deepEqual(
    d.__inputs.map((i) => [i.name, i.type, i.pluginId]),
    [['DS_PROMETHEUS', 'datasource', 'prometheus']],
  );
  const panels = grafanaPanels(d.panels);
  const ids = panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, `panel ids are unique: ${ids.join(',')}`);
  let targets = 0;
  for (const panel of panels) {
    assert.ok(panel.title.trim(), `panel ${panel.id} has a title`);
    if (panel.type === 'row') continue;
    assert.equal(panel.datasource?.uid, GRAFANA_DATASOURCE_UID, `${panel.title}: datasource`);
    assert.ok(panel.targets?.length, `${panel.title}: no targets`);
    for (const target of panel.targets ?? []) {
      targets++;
      assert.equal(target.datasource?.uid, GRAFANA_DATASOURCE_UID, `${panel.title}: target datasource`);
      const names = promqlMetricNames(target.expr ?? '');
      assert.ok(names.length > 0, `${panel.title}: no metric in ${target.expr}`);
      for (const name of names) assert.ok(isKnown(name), `${panel.title}: unknown metric ${name}`);
    }
  }

  // Panels sit on the 24-column grid without overlapping.
  const cells = new Set<string>();
  for (const { title, gridPos: g } of panels) {
    assert.ok(g.x >= 0 && g.w > 0 && g.h > 0 && g.x + g.w <= 24, `${title}: outside the grid`);
    for (let x = g.x; x < g.x + g.w; x++) {
      for (let y = g.y; y < g.y + g.h; y++) {
        assert.ok(!cells.has(`${x},${y}`), `${title}: overlaps another panel at ${x},${y}`);
        cells.add(`${x},${y}`);
      }
    }
  }

  for (const variable of d.templating.list) {
    if (variable.type !== 'query') continue;
    const m = /^label_values\(\s*([a-zA-Z_:][\w:]*)\s*,\s*\w+\s*\)$/.exec(variable.definition ?? '');
    assert.ok(m, `variable ${variable.name}: ${variable.definition}`);
    assert.ok(isKnown(m[1]!), `variable ${variable.name}: unknown metric ${m[1]}`);
  }
  return targets;
}
