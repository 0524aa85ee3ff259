import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  appendSample,
  deadLetterColumns,
  ingestRateColumns,
  MAX_SAMPLES,
  overviewSample,
  queueColumns,
} from '../web/metrics/overview.ts';
import { parsePrometheusText } from '../web/metrics/prometheus.ts';

const scrape = (ok: number, queued: number, dead: number) => `# HELP ingestion_write_total Raw documents written
# TYPE ingestion_write_total counter
ingestion_write_total{source="osv",tenant="default",result="ok"} ${ok}
ingestion_write_total{source="ghsa",tenant="default",result="ok"} 1
ingestion_write_total{source="ghsa",tenant="default",result="reject"} 2
# TYPE stella_queue_jobs gauge
stella_queue_jobs{queue="export.run",state="queued"} ${queued}
stella_queue_jobs{queue="export.run",state="active"} 1
stella_queue_jobs{queue="export.run",state="dead_letter"} ${dead}
stella_queue_jobs{queue="aoc.verify",state="dead_letter"} 1
`;

test('reads samples, labels with escapes, special values and timestamps', () => {
  const samples = parsePrometheusText(
    ['up 1', 'a_total{path="C:\\\\x",msg="say \\"hi\\"\\n",} 3.5e2 1700000000000', 'b{} +Inf', 'c -Inf', 'd NaN'].join(
      '\n',
    ),
  );
  assert.deepEqual(samples.slice(0, 4), [
    { name: 'up', labels: {}, value: 1 },
    { name: 'a_total', labels: { path: 'C:\\x', msg: 'say "hi"\n' }, value: 350 },
    { name: 'b', labels: {}, value: Number.POSITIVE_INFINITY },
    { name: 'c', labels: {}, value: Number.NEGATIVE_INFINITY },
  ]);
  assert.ok(Number.isNaN(samples[4]!.value));
});

test('malformed lines are refused with their line number', () => {
  for (const bad of ['x{a="1"', 'x{a=1} 2', 'x{a="1"} ', 'x{a="\\q"} 1', '1x 2', 'x one', 'x 1 2 3', 'x 1 soon']) {
    assert.throws(() => parsePrometheusText(`ok 1\n${bad}`), /line 2/, bad);
  }
});

test('ingest rates per second, queue depth and dead letters summed over sources and queues', () => {
  const history = [
    overviewSample(parsePrometheusText(scrape(10, 4, 0)), 100),
    overviewSample(parsePrometheusText(scrape(20, 2, 3)), 105),
    // A restart reset the counter to 5: five writes since, not minus fifteen.
    overviewSample(parsePrometheusText(scrape(4, 0, 3)), 110),
  ];
  assert.deepEqual(ingestRateColumns(history), [
    [105, 110],
    [2, 1],
    [0, 0],
    [0, 0],
  ]);
  assert.deepEqual(queueColumns(history), [
    [100, 105, 110],
    [4, 2, 0],
    [1, 1, 1],
  ]);
  assert.deepEqual(deadLetterColumns(history), [
    [100, 105, 110],
    [1, 4, 4],
  ]);
  assert.deepEqual(ingestRateColumns(history.slice(0, 1)), [[], [], [], []]);
});

test('the history keeps the last MAX_SAMPLES scrapes', () => {
  let history = [overviewSample([], 0)];
  for (let at = 1; at <= MAX_SAMPLES + 5; at++) history = appendSample(history, overviewSample([], at));
  assert.equal(history.length, MAX_SAMPLES);
  assert.equal(history[0]!.at, 6);
});
