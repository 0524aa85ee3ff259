import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createMetricsRegistry } from '@stella/platform';
import { createAocMetrics } from '../src/metrics.ts';

describe('AOC metrics labels', () => {
  test('with aoc.sources configured, any other vendor is counted as source="other"', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const metrics = createAocMetrics(registry, true, { sources: ['osv', 'ghsa'] });
    for (const vendor of ['osv', 'ghsa', 'made-up-1', 'made-up-2']) metrics.write(vendor, 'default', 'ok');
    const text = await registry.metrics();
    assert.match(text, /ingestion_write_total\{source="osv",tenant="default",result="ok"\} 1/);
    assert.match(text, /ingestion_write_total\{source="ghsa",tenant="default",result="ok"\} 1/);
    assert.match(text, /ingestion_write_total\{source="other",tenant="default",result="ok"\} 2/);
    assert.doesNotMatch(text, /made-up/);
  });

  test('with none configured, the first 32 vendors keep their names and later ones are other', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const metrics = createAocMetrics(registry, true, { sources: [] });
    for (let i = 0; i < 40; i++) metrics.violation(`vendor-${i}`, 'default', 'ERR_AOC_001');
    metrics.violation('vendor-0', 'default', 'NOT_A_CODE');
    const text = await registry.metrics();
    assert.match(text, /aoc_violation_total\{source="vendor-31",tenant="default",code="ERR_AOC_001"\} 1/);
    assert.match(text, /aoc_violation_total\{source="other",tenant="default",code="ERR_AOC_001"\} 8/);
    assert.match(text, /aoc_violation_total\{source="vendor-0",tenant="default",code="other"\} 1/);
    assert.doesNotMatch(text, /vendor-32/);
  });
});
