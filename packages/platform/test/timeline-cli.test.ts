// Timeline checkpoints and retention through the HTTP routes and `stella timeline …` on a real socket:
// the CLI verifies a pruned chain from its signed checkpoint on the client, a tampered checkpoint
// signature exits 3 with ERR_TIMELINE_CHECKPOINT_INVALID, and signing and pruning need authority:admin.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { fixedClock } from '@stella/core';
import { scratchDir, type TestDb, testBackend, testDb } from '@stella/testkit';
import { Command } from 'commander';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { createTokenVerifier } from '../src/auth/index.ts';
import { type CliCtx, CliError, exitCodeOf } from '../src/cli/index.ts';
import { migrate } from '../src/db/index.ts';
import { createHttpApp, createLogger, type HttpApp } from '../src/http/index.ts';
import { createMetricsRegistry } from '../src/metrics/index.ts';
import { createSigningKeyStore } from '../src/signing/index.ts';
import { registerTimelineCommands } from '../src/timeline/commands.ts';
import {
  createTimeline,
  createTimelineCheckpoints,
  registerTimelineRoutes,
  type Timeline,
  type TimelineCheckpoints,
} from '../src/timeline/index.ts';

const platform = [{ module: 'platform', migrations: new URL('../migrations/', import.meta.url) }];
const ISSUER = 'http://issuer.test';
const DAY = 86_400_000;

function capture() {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      text += chunk.toString();
      callback();
    },
  });
  return { stream, text: () => text };
}

describe(`stella timeline checkpoint|prune|verify over HTTP on ${testBackend()}`, () => {
  let t: TestDb;
  let app: HttpApp;
  let base: string;
  let timeline: Timeline;
  let checkpoints: TimelineCheckpoints;
  let token: (tenant: string, scope: string) => Promise<string>;
  const clock = fixedClock('2026-03-01T00:00:00.000Z');

  before(async () => {
    t = await testDb();
    await migrate(t.db, platform);
    timeline = createTimeline(t.db, clock);
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const logger = createLogger({ level: 'silent' });
    checkpoints = createTimelineCheckpoints({
      db: t.db,
      clock,
      timeline,
      signing: createSigningKeyStore(t.db),
      metrics: registry,
      logger,
    });
    const { publicKey, privateKey } = await generateKeyPair('EdDSA', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'EdDSA', use: 'sig' };
    token = (tenant, scope) =>
      new SignJWT({ scope, tid: tenant })
        .setProtectedHeader({ alg: 'EdDSA', kid: 'k1', typ: 'at+jwt' })
        .setIssuer(ISSUER)
        .setAudience('stella')
        .setSubject('stella-admin')
        .setJti(`j-${tenant}-${scope.length}`)
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(privateKey);
    ({ app } = await createHttpApp({
      logger,
      registry,
      requestBodyBytes: 1024 * 1024,
      tenantHeader: 'X-Stella-Tenant',
      verifier: createTokenVerifier({
        issuer: ISSUER,
        audience: 'stella',
        clockSkewSeconds: 0,
        keys: { kind: 'local', jwks: async () => ({ keys: [jwk] }) },
      }),
      docsUi: false,
      version: 'test',
    }));
    registerTimelineRoutes(app, { db: t.db, timeline, checkpoints, pageSize: 100, retentionDays: 1 });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    await app.close();
    await t.close();
  });

  /** `stella <argv>` with the timeline verbs, as the CLI runs them: the exit code and the error's code. */
  const stella = async (tenant: string, scope: string, argv: string[]) => {
    const out = capture();
    const err = capture();
    const program = new Command('stella').exitOverride();
    const json = argv[0] === '--json';
    const cli: CliCtx = {
      io: { argv, env: {}, stdout: out.stream, stderr: err.stream },
      globals: () => ({ server: base, tenant, token: bearer, json, quiet: true }),
      loadConfig: () => {
        throw new Error('not used by the timeline verbs');
      },
      configSections: [],
      migrate: async () => ({ applied: [], skipped: [] }),
    };
    const bearer = await token(tenant, scope);
    registerTimelineCommands(program, cli);
    try {
      await program.parseAsync(json ? argv.slice(1) : argv, { from: 'user' });
      return { exit: 0, code: undefined, out: out.text(), message: '' };
    } catch (error) {
      const code = error instanceof CliError ? error.code : undefined;
      return { exit: exitCodeOf(error), code, out: out.text(), message: (error as Error).message };
    }
  };
  const admin = 'timeline:read authority:admin';
  const record = async (tenant: string, n: number) => {
    for (let i = 0; i < n; i++) await timeline.record(tenant, { category: 'runtime', kind: 'k', details: { i } });
  };

  test('checkpoint, prune, then verify on the client from the checkpoint (and on the server)', async () => {
    await record('acme', 4);
    const written = await stella('acme', admin, ['timeline', 'checkpoint']);
    assert.equal(written.exit, 0, written.message);
    assert.match(written.out, /^checkpoint written: seq 4 {2}sha256:[0-9a-f]{64}/);
    const again = await stella('acme', admin, ['timeline', 'checkpoint']);
    assert.match(again.out, /^head unchanged since checkpoint: seq 4/);

    clock.advance(3 * DAY);
    await record('acme', 2);
    const pruned = await stella('acme', admin, ['timeline', 'prune']);
    assert.equal(pruned.exit, 0, pruned.message);
    assert.match(pruned.out, /^pruned 4 events and 0 older checkpoints through seq 4/);

    const verified = await stella('acme', 'timeline:read', ['timeline', 'verify']);
    assert.equal(verified.exit, 0, verified.message);
    // events 5, 6 and the timeline.pruned event 7
    assert.match(verified.out, /^timeline chain OK: 3 events from checkpoint [0-9A-Z]{26} \(seq 4, signed by sha256:/);
    const asJson = await stella('acme', 'timeline:read', ['--json', 'timeline', 'verify']);
    const verdict = JSON.parse(asJson.out) as { ok: boolean; from: string; anchor: { seq: number }; checked: number };
    assert.deepEqual([verdict.ok, verdict.from, verdict.anchor.seq, verdict.checked], [true, 'checkpoint', 4, 3]);

    // The console's button: the older fields keep their meaning, the new ones say where it started.
    const server = await fetch(`${base}/api/v1/timeline/verify`, {
      headers: { authorization: `Bearer ${await token('acme', 'timeline:read')}` },
    });
    const body = (await server.json()) as Record<string, unknown>;
    assert.equal(server.status, 200);
    assert.equal(body.ok, true);
    assert.equal(body.checked, 3);
    assert.match(String(body.head), /^sha256:[0-9a-f]{64}$/);
    assert.equal(body.from, 'checkpoint');
    assert.equal(body.checkpoints, 1);

    const listed = await stella('acme', 'timeline:read', ['--json', 'timeline', 'checkpoints']);
    const page = JSON.parse(listed.out) as { items: { seq: number }[]; keys: { status: string }[] };
    assert.deepEqual(
      page.items.map((c) => c.seq),
      [4],
    );
    assert.deepEqual(
      page.keys.map((k) => k.status),
      ['active'],
    );
  });

  test('--public-key pins the keys checkpoints must verify with', async () => {
    const page = (await (
      await fetch(`${base}/api/v1/timeline/checkpoints`, {
        headers: { authorization: `Bearer ${await token('acme', 'timeline:read')}` },
      })
    ).json()) as { keys: { publicKeyPem: string }[] };
    const dir = scratchDir('stella-timeline-keys-');
    writeFileSync(join(dir, 'timeline.pem'), page.keys[0]!.publicKeyPem);
    const stranger = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    writeFileSync(join(dir, 'stranger.pem'), stranger);
    const pinned = await stella('acme', 'timeline:read', [
      'timeline',
      'verify',
      '--public-key',
      join(dir, 'timeline.pem'),
    ]);
    assert.equal(pinned.exit, 0, pinned.message);
    const wrong = await stella('acme', 'timeline:read', [
      'timeline',
      'verify',
      '--public-key',
      join(dir, 'stranger.pem'),
    ]);
    assert.equal(wrong.exit, 3);
    assert.equal(wrong.code, 'ERR_TIMELINE_CHECKPOINT_INVALID');
    assert.match(wrong.out, /timeline checkpoint INVALID: .* signature does not verify/);
    const unreadable = await stella('acme', 'timeline:read', ['timeline', 'verify', '--public-key', join(dir, 'none')]);
    assert.equal(unreadable.exit, 2);
  });

  test('a tampered checkpoint signature: `stella timeline verify` exits 3 with ERR_TIMELINE_CHECKPOINT_INVALID', async () => {
    await record('tampered', 3);
    assert.equal((await stella('tampered', admin, ['timeline', 'checkpoint'])).exit, 0);
    assert.equal((await stella('tampered', 'timeline:read', ['timeline', 'verify'])).exit, 0);
    await t.db.transaction(
      async (tx) => {
        // What someone with the database owner's role could do: switch the append-only trigger off.
        await tx.query('alter table timeline_checkpoints disable trigger timeline_checkpoints_append_only');
        await tx.query(
          `update timeline_checkpoints set envelope = jsonb_set(envelope, '{signatures,0,sig}', to_jsonb($2::text))
            where tenant = $1`,
          ['tampered', Buffer.alloc(64, 7).toString('base64')],
        );
        await tx.query('alter table timeline_checkpoints enable trigger timeline_checkpoints_append_only');
      },
      { tenant: 'tampered' },
    );
    const verified = await stella('tampered', 'timeline:read', ['timeline', 'verify']);
    assert.equal(verified.exit, 3);
    assert.equal(verified.code, 'ERR_TIMELINE_CHECKPOINT_INVALID');
    assert.match(verified.message, /does not verify: signature does not verify/);
    const server = (await (
      await fetch(`${base}/api/v1/timeline/verify`, {
        headers: { authorization: `Bearer ${await token('tampered', 'timeline:read')}` },
      })
    ).json()) as { ok: boolean; invalidCheckpoint: { seq: number }; brokenAt: { seq: number } };
    assert.equal(server.ok, false);
    assert.equal(server.invalidCheckpoint.seq, 3);
    assert.equal(server.brokenAt.seq, 3, 'brokenAt still says where, for the console');
  });

  test('signing and pruning need authority:admin; another tenant sees no checkpoint and no key', async () => {
    const readOnly = await stella('acme', 'timeline:read', ['timeline', 'checkpoint']);
    assert.notEqual(readOnly.exit, 0);
    assert.match(readOnly.message, /authority:admin/);
    assert.notEqual((await stella('acme', 'timeline:read', ['timeline', 'prune'])).exit, 0);
    const other = (await (
      await fetch(`${base}/api/v1/timeline/checkpoints`, {
        headers: { authorization: `Bearer ${await token('globex', 'timeline:read')}` },
      })
    ).json()) as { items: unknown[]; keys: unknown[] };
    assert.deepEqual(other, { items: [], nextCursor: null, keys: [] });
    const empty = await stella('globex', admin, ['timeline', 'checkpoint']);
    assert.equal(empty.out.trim(), 'no checkpoint: the timeline has no events yet');
    const noRetention = await stella('globex', admin, ['timeline', 'prune']);
    assert.match(noRetention.out, /^no checkpoint signed before /);
  });
});
