// ERR_EXPORT_003: a tenant's queued runs are capped (export.maxQueuedRuns). With no worker (an api-only
// server), runs stay queued, so the cap is reached deterministically; submissions racing at the cap
// are serialised by the tenant's submission lock, so exactly the allowed number get through.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testBackend } from '@stella/testkit';
import { startTestServer, type TestServer } from '../helpers.ts';

const PROFILE = {
  apiVersion: 'stellaops.io/export.v1',
  kind: 'ExportProfile',
  metadata: { name: 'queued-raw' },
  spec: { kind: 'json', variant: 'raw', distribution: ['http'] },
};

describe(`export queue depth (${testBackend()})`, () => {
  let t: TestServer;
  let token: string;
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${t.base}${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${token}`,
        'x-stella-tenant': 'default',
        ...(init.body ? { 'content-type': 'application/json' } : {}),
      },
    });
  const submit = () =>
    api('/api/export/runs', { method: 'POST', body: JSON.stringify({ profileId: 'queued-raw', allowEmpty: true }) });

  before(async () => {
    t = await startTestServer({ STELLA_SERVER_TARGET: 'api', STELLA_EXPORT_MAX_QUEUED_RUNS: '2' });
    token = await t.token();
    assert.equal((await api('/api/export/profiles', { method: 'POST', body: JSON.stringify(PROFILE) })).status, 201);
  });
  after(() => t?.close());

  test('submissions racing at the cap: exactly maxQueuedRuns are queued, the rest get 429 ERR_EXPORT_003', async () => {
    const answers = await Promise.all(Array.from({ length: 5 }, submit));
    const statuses = answers.map((r) => r.status).sort();
    assert.deepEqual(statuses, [202, 202, 429, 429, 429]);
    const refused = answers.find((r) => r.status === 429)!;
    assert.equal(refused.headers.get('retry-after'), '60');
    const problem = (await refused.json()) as {
      code: string;
      detail: string;
      queued: number;
      limit: number;
    };
    assert.equal(problem.code, 'ERR_EXPORT_003');
    assert.deepEqual([problem.queued, problem.limit], [2, 2]);
    assert.match(problem.detail, /export\.maxQueuedRuns/);
    const queued = (await (await api('/api/export/runs?status=pending')).json()) as { items: { runId: string }[] };
    assert.equal(queued.items.length, 2);

    // Cancelling one makes room for exactly one more.
    assert.equal((await api(`/api/export/runs/${queued.items[0]!.runId}/cancel`, { method: 'POST' })).status, 200);
    assert.equal((await submit()).status, 202);
    assert.equal((await submit()).status, 429);
  });
});
