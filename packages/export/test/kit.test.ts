// The Offline Kit's plan (mirror/kit.ts): which stored runs a disconnected site needs, in apply order.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type KitRun, kitChecksums, planKit } from '../src/mirror/kit.ts';

let n = 0;
const run = (profileKind: string, exportId: string, baseExportId: string | null = null): KitRun => {
  n += 1;
  return {
    runId: `run-${n}`,
    profileKind,
    exportId,
    baseExportId,
    completedAt: new Date(Date.UTC(2026, 0, 1, 0, n)).toISOString(),
    bundle: { fileName: `${exportId}.tar.zst`, digest: `sha256:${exportId}`, bytes: 1, mediaType: 'x' },
  };
};

describe('offline kit plan', () => {
  test('the newest full, then from each export the newest delta built on it', () => {
    const oldFull = run('mirror:full', 'f1');
    const onOld = run('mirror:delta', 'd0', 'f1');
    const full = run('mirror:full', 'f2');
    const d1 = run('mirror:delta', 'd1', 'f2');
    const d1b = run('mirror:delta', 'd1b', 'f2'); // a later sibling carries everything d1 does
    const d2 = run('mirror:delta', 'd2', 'd1b');
    const orphan = run('mirror:delta', 'dx', 'd1');
    const trivy = run('trivy:db', 't1');
    const raw = run('json:raw', 'r1');
    const plan = planKit([raw, orphan, d2, d1b, d1, full, onOld, oldFull, trivy]);
    assert.equal(plan.full?.exportId, 'f2');
    assert.deepEqual(
      plan.deltas.map((d) => d.exportId),
      ['d1b', 'd2'],
    );
    assert.equal(plan.trivy?.exportId, 't1');
  });

  test('replays share an export id and never loop the chain; runs without a bundle are skipped', () => {
    const full = run('mirror:full', 'f');
    const d = run('mirror:delta', 'd', 'f');
    const replay = { ...run('mirror:delta', 'd', 'f') };
    const expired = { ...run('mirror:full', 'g'), bundle: null };
    const plan = planKit([full, d, replay, expired]);
    assert.equal(plan.full?.exportId, 'f');
    assert.deepEqual(
      plan.deltas.map((x) => x.runId),
      [replay.runId],
    );
    assert.deepEqual(planKit([]), { full: undefined, deltas: [], trivy: undefined });
  });

  test('checksums.txt is what sha256sum -c reads', () => {
    assert.equal(
      kitChecksums([{ path: 'kit.json', sha256: 'ab'.repeat(32), bytes: 2 }]),
      `${'ab'.repeat(32)}  kit.json\n`,
    );
  });
});
