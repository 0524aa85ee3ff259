// Label bounding and the separate metrics listener: caller-chosen label values cannot grow the
// registry without limit, and the listener serves /metrics and nothing else.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { counter, createMetricsRegistry, labelBound, startMetricsListener } from '../src/metrics/index.ts';

describe('metrics', () => {
  test('a bounded label keeps known values, then the first N others, then reports other', () => {
    const bound = labelBound({ known: ['osv', 'ghsa'], maxOthers: 2 });
    assert.deepEqual(['osv', 'x1', 'x2', 'x3', 'ghsa', 'x1', 'x4'].map(bound), [
      'osv',
      'x1',
      'x2',
      'other',
      'ghsa',
      'x1',
      'other',
    ]);
    const strict = labelBound({ known: ['osv'] });
    assert.deepEqual(['osv', 'anything'].map(strict), ['osv', 'other']);
  });

  test('3,000 distinct values through a bounded label add a bounded number of series', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const writes = counter(registry, 'test_writes_total', 'test', ['source']);
    const bound = labelBound({ known: ['osv'], maxOthers: 8 });
    for (let i = 0; i < 3000; i++) writes.inc({ source: bound(`vendor-${i}`) });
    const series = (await registry.metrics()).split('\n').filter((l) => l.startsWith('test_writes_total{'));
    assert.equal(series.length, 9, 'eight first-come vendors and other');
    assert.match(await registry.metrics(), /test_writes_total\{source="other"\} 2992/);
  });

  test('the separate listener serves GET /metrics without credentials and nothing else', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    counter(registry, 'test_scrapes_total', 'test').inc();
    const listener = await startMetricsListener({ registry, host: '127.0.0.1', port: 0 });
    try {
      assert.match(listener.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const ok = await fetch(listener.url);
      assert.equal(ok.status, 200);
      assert.match(ok.headers.get('content-type') ?? '', /^text\/plain/);
      assert.match(await ok.text(), /test_scrapes_total 1/);
      const other = await fetch(listener.url.replace('/metrics', '/token'), { method: 'POST' });
      assert.equal(other.status, 404);
      await other.text();
    } finally {
      await listener.close();
    }
  });
});
