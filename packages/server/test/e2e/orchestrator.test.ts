import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { makeProgram } from '@stella/cli';
import { testBackend } from '@stella/testkit';
import { startTestServer, type TestServer } from '../helpers.ts';

describe(`dead-letter operations end to end on ${testBackend()}`, () => {
  let t: TestServer;
  let token: string;
  const headers = () => ({ authorization: `Bearer ${token}`, 'x-stella-tenant': 'default' });

  before(async () => {
    t = await startTestServer();
    token = await t.token();
    const { queue } = t.server.ctx;
    await queue.define('e2e.fragile', { retryLimit: 0 });
    await queue.work('e2e.fragile', async () => {
      throw new Error('upstream unavailable');
    });
    await queue.send('e2e.fragile', { tenant: 'default', n: 1 });
    await queue.send('e2e.fragile', { tenant: 'globex', n: 2 });
    // pg-boss polls every 2 s; two failures and their dead-lettering fit well inside 60 s.
    const deadline = Date.now() + 60_000;
    while ((await queue.deadLetters({ queue: 'e2e.fragile' })).length < 2) {
      if (Date.now() > deadline) throw new Error('jobs were not dead-lettered within 60 s');
      await new Promise((r) => setTimeout(r, 200));
    }
  });
  after(() => t.close());

  const list = async () => {
    const res = await fetch(`${t.base}/orchestrator/deadletter?queue=e2e.fragile`, { headers: headers() });
    assert.equal(res.status, 200);
    return ((await res.json()) as { items: { id: string; queue: string; error: string; retryCount: number }[] }).items;
  };

  test("a tenant lists only its own dead letters, with the failure's message", async () => {
    const items = await list();
    assert.equal(items.length, 1, 'the globex job is not visible to tenant default');
    assert.equal(items[0]!.queue, 'e2e.fragile');
    assert.match(items[0]!.error, /upstream unavailable/);
  });

  test('a retry needs an operator reason and the orch:operate scope', async () => {
    const post = (h: Record<string, string>) =>
      fetch(`${t.base}/orchestrator/deadletter/retry`, {
        method: 'POST',
        headers: { ...h, 'content-type': 'application/json' },
        body: JSON.stringify({ queue: 'e2e.fragile' }),
      });
    const noReason = await post(headers());
    assert.equal(noReason.status, 400);
    assert.equal(((await noReason.json()) as { code: string }).code, 'ERR_VALIDATION');
    assert.equal((await list()).length, 1, 'nothing was re-queued');

    const readOnly = await t.token('orch:read');
    const forbidden = await post({ authorization: `Bearer ${readOnly}`, 'x-stella-operator-reason': 'try' });
    assert.equal(forbidden.status, 403);
    assert.equal(((await forbidden.json()) as { code: string }).code, 'ERR_AUTH_SCOPE');
  });

  test('the CLI lists dead letters and refuses a retry without --reason', async () => {
    const run = async (argv: string[]) => {
      let out = '';
      const sink = {
        write: (s: string) => {
          out += s;
          return true;
        },
      } as unknown as NodeJS.WritableStream;
      const code = await makeProgram({
        argv,
        env: { STELLA_HOME: t.home, STELLA_SERVER: t.base },
        stdout: sink,
        stderr: sink,
      }).run();
      return { code, out };
    };
    const listed = await run(['--json', 'orchestrator', 'deadletter', 'list', '--queue', 'e2e.fragile']);
    assert.equal(listed.code, 0, listed.out);
    assert.equal((JSON.parse(listed.out) as { items: unknown[] }).items.length, 1);
    const refused = await run(['orchestrator', 'deadletter', 'retry', '--queue', 'e2e.fragile']);
    assert.equal(refused.code, 2);
    assert.match(refused.out, /--reason is required/);
  });

  test('a retry with a reason re-queues the tenant’s job and records it on the timeline', async () => {
    const res = await fetch(`${t.base}/orchestrator/deadletter/retry`, {
      method: 'POST',
      headers: { ...headers(), 'content-type': 'application/json', 'x-stella-operator-reason': 'upstream fixed' },
      body: JSON.stringify({ queue: 'e2e.fragile' }),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { retried: 1 });
    const events = (await (
      await fetch(`${t.base}/api/v1/timeline/events?kind=orchestrator.deadletter.retried`, { headers: headers() })
    ).json()) as { items: { details: { reason: string; retried: number } }[] };
    assert.equal(events.items.length, 1);
    assert.equal(events.items[0]!.details.reason, 'upstream fixed');
    const globexStill = await t.server.ctx.queue.deadLetters({ queue: 'e2e.fragile' });
    assert.ok(
      globexStill.some((d) => (d.data as { tenant: string }).tenant === 'globex'),
      "another tenant's dead letter is untouched",
    );
  });
});
