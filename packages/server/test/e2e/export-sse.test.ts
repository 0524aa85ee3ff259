// The run event stream while nothing happens: an API-only server (no worker) keeps a run queued, so
// the stream must send `: keepalive` comments, and a cancellation ends it with a `cancelled` event.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testBackend } from '@stella/testkit';
import { startTestServer, type TestServer } from '../helpers.ts';

describe(`export SSE keepalive and cancel on ${testBackend()}`, () => {
  let t: TestServer;
  let token: string;
  const api = (path: string, body?: unknown) =>
    fetch(`${t.base}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'x-stella-tenant': 'default',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  before(async () => {
    t = await startTestServer({ STELLA_SERVER_TARGET: 'api', STELLA_EXPORT_KEEPALIVE_SECONDS: '1' });
    token = await t.token();
  });
  after(() => t.close());

  test('a queued run streams keepalives until it is cancelled', async () => {
    const profile = {
      apiVersion: 'stellaops.io/export.v1',
      kind: 'ExportProfile',
      metadata: { name: 'waiting' },
      spec: { kind: 'json', variant: 'raw', distribution: ['http'] },
    };
    assert.equal((await api('/api/export/profiles', profile)).status, 201);
    const { runId } = (await (await api('/api/export/runs', { profileId: 'waiting', allowEmpty: true })).json()) as {
      runId: string;
    };
    const stream = await api(`/api/export/runs/${runId}/events`);
    const decoder = new TextDecoder();
    let text = '';
    let cancelled = false;
    for await (const chunk of stream.body as unknown as AsyncIterable<Uint8Array>) {
      text += decoder.decode(chunk, { stream: true });
      if (!cancelled && text.includes(': keepalive\n\n')) {
        cancelled = true;
        const res = await api(`/api/export/runs/${runId}/cancel`, {});
        assert.equal(res.status, 200);
      }
    }
    assert.match(text, /^id: 1\nevent: queued\n/);
    assert.match(text, /: keepalive\n\n/);
    assert.match(text, /event: cancelled\ndata: \{[^\n]*"status":"cancelled"/);
    const run = (await (await api(`/api/export/runs/${runId}`)).json()) as { status: string };
    assert.equal(run.status, 'cancelled');
  });
});
