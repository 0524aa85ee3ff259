// Tenant administration as a platform administrator runs it: `stella tenants create`, a client of the
// new tenant that sees none of the first tenant's data, disabling the tenant (its live token is
// refused on the next request, no new token is issued), enabling it again; and the refusals: a tenant
// client cannot hold tenant:admin, a tenant-scoped token cannot reach /admin, bad and duplicate ids.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testBackend } from '@stella/testkit';
import { clientToken, ingestAllFixtures, runCli, startTestServer, type TestServer } from '../helpers.ts';

describe(`tenant administration (${testBackend()})`, () => {
  let t: TestServer;
  const cli = (...args: string[]) => runCli(t, [...args, '--json']);
  const get = (path: string, token: string, tenant: string) =>
    fetch(`${t.base}${path}`, { headers: { authorization: `Bearer ${token}`, 'x-stella-tenant': tenant } });
  const rawToken = (clientId: string, clientSecret: string) =>
    fetch(`${t.base}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
    });

  before(async () => {
    t = await startTestServer();
    assert.ok((await ingestAllFixtures(t)) > 350);
  });
  after(() => t?.close());

  test("a tenant created by the CLI, with its own client, sees nothing of the first tenant's", async () => {
    const created = await cli('tenants', 'create', 'acme', '--name', 'Acme Corp');
    assert.equal(created.code, 0, created.stderr);
    assert.deepEqual(JSON.parse(created.stdout) as { id: string; displayName: string; disabled: boolean }, {
      ...JSON.parse(created.stdout),
      id: 'acme',
      displayName: 'Acme Corp',
      disabled: false,
    });
    const listed = JSON.parse((await cli('tenants', 'list')).stdout) as { items: { id: string }[] };
    assert.deepEqual(
      listed.items.map((i) => i.id),
      ['acme', 'default'],
    );

    const client = await cli('tenants', 'clients', 'create', 'acme', 'acme-ci', '--scope', 'advisory:read vex:read');
    assert.equal(client.code, 0, client.stderr);
    const { clientSecret, scopes, source } = JSON.parse(client.stdout) as {
      clientSecret: string;
      scopes: string[];
      source: string;
    };
    assert.deepEqual([scopes, source], [['advisory:read', 'vex:read'], 'api']);
    const token = await clientToken(t.base, 'acme-ci', clientSecret);

    const own = await get('/v1/lnm/linksets?cve=CVE-2023-45288', token, 'acme');
    assert.equal(own.status, 200);
    assert.deepEqual(((await own.json()) as { observations: unknown[] }).observations, []);
    const theirs = await get('/v1/lnm/linksets?cve=CVE-2023-45288', token, 'default');
    assert.equal(theirs.status, 403);
    assert.equal(((await theirs.json()) as { code: string }).code, 'ERR_AUTH_TENANT_FORBIDDEN');
    const adminView = await get('/v1/lnm/linksets?cve=CVE-2023-45288', await t.token(), 'default');
    assert.ok(((await adminView.json()) as { observations: unknown[] }).observations.length > 0);
  });

  test('disabling a tenant refuses its live token at the next request and issues no new one; enabling restores both', async () => {
    const { clientSecret } = JSON.parse((await cli('tenants', 'clients', 'create', 'acme', 'acme-bot')).stdout) as {
      clientSecret: string;
    };
    const token = await clientToken(t.base, 'acme-bot', clientSecret);
    assert.equal((await get('/api/v1/timeline/events?limit=1', token, 'acme')).status, 200);

    assert.equal((await cli('tenants', 'disable', 'acme')).code, 0);
    const refused = await get('/api/v1/timeline/events?limit=1', token, 'acme');
    assert.equal(refused.status, 403);
    assert.equal(((await refused.json()) as { code: string }).code, 'ERR_AUTH_TENANT_DISABLED');
    const noToken = await rawToken('acme-bot', clientSecret);
    assert.equal(noToken.status, 400);
    assert.equal(((await noToken.json()) as { error: string }).error, 'unauthorized_client');
    // The other tenant is untouched.
    assert.equal((await get('/api/v1/timeline/events?limit=1', await t.token(), 'default')).status, 200);

    assert.equal((await cli('tenants', 'enable', 'acme')).code, 0);
    assert.equal((await get('/api/v1/timeline/events?limit=1', token, 'acme')).status, 200);
    assert.equal((await rawToken('acme-bot', clientSecret)).status, 200);

    // A disabled client gets no token; its tenant's other clients do.
    assert.equal((await cli('tenants', 'clients', 'disable', 'acme', 'acme-bot')).code, 0);
    assert.equal((await rawToken('acme-bot', clientSecret)).status, 401);
    const list = JSON.parse((await cli('tenants', 'clients', 'list', 'acme')).stdout) as {
      items: { clientId: string; disabled: boolean }[];
    };
    assert.deepEqual(
      list.items.map((c) => [c.clientId, c.disabled]),
      [
        ['acme-bot', true],
        ['acme-ci', false],
      ],
    );
  });

  test('the platform administrator is never locked out: its own tenant disabled, it still enables it', async () => {
    const before = await t.token();
    assert.equal((await cli('tenants', 'disable', 'default')).code, 0);
    const refused = await get('/api/v1/timeline/events?limit=1', before, 'default');
    assert.equal(((await refused.json()) as { code: string }).code, 'ERR_AUTH_TENANT_DISABLED');
    const enabled = await cli('tenants', 'enable', 'default');
    assert.equal(enabled.code, 0, enabled.stderr);
    assert.equal((await get('/api/v1/timeline/events?limit=1', await t.token(), 'default')).status, 200);
  });

  test('refusals: platform scopes for a tenant client, tenant tokens at /admin, bad and duplicate ids, unknown tenants', async () => {
    const platformScope = await cli(
      'tenants',
      'clients',
      'create',
      'acme',
      'acme-root',
      '--scope',
      'tenant:admin advisory:read',
    );
    assert.equal(platformScope.code, 2);
    assert.match(platformScope.stderr, /cannot hold tenant:admin/);
    assert.equal((await cli('tenants', 'create', 'acme')).code, 1);
    const badId = await cli('tenants', 'create', 'Not_A_Tenant');
    assert.equal(badId.code, 2, badId.stderr);
    assert.equal((await cli('tenants', 'disable', 'nobody')).code, 4);
    assert.equal((await cli('tenants', 'clients', 'create', 'nobody', 'ghost-client')).code, 4);

    const { clientSecret } = JSON.parse(
      (await cli('tenants', 'clients', 'create', 'acme', 'acme-reader', '--scope', 'advisory:read')).stdout,
    ) as {
      clientSecret: string;
    };
    const tenantToken = await clientToken(t.base, 'acme-reader', clientSecret);
    const admin = await fetch(`${t.base}/admin/tenants`, { headers: { authorization: `Bearer ${tenantToken}` } });
    assert.equal(admin.status, 403);
    assert.equal(((await admin.json()) as { code: string }).code, 'ERR_AUTH_SCOPE');
    const asked = await fetch(`${t.base}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: 'acme-reader',
        client_secret: clientSecret,
        scope: 'tenant:admin',
      }),
    });
    assert.equal(((await asked.json()) as { error: string }).error, 'invalid_scope');
  });
});
