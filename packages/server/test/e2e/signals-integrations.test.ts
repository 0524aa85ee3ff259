// Signals with its neighbours, end to end: default targets from an advisory ingested through the AOC
// room (OSV ecosystem_specific.imports[].symbols), and fact events reaching a real nats-server with
// JetStream when STELLA_NATS_URL is set.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { advisoryFixtures, type NatsServer, startNats } from '@stella/testkit';
import { startTestServer, type TestServer } from '../helpers.ts';

const FIXTURES = `${advisoryFixtures()}/`;

function goGraph() {
  return {
    schema: 'stella.callgraph.v1',
    metadata: { language: 'Go', component: 'tagger', version: '0.1.0' },
    nodes: [
      { id: 'example.com/tagger.main', name: 'main' },
      { id: 'example.com/tagger.load', name: 'load' },
      {
        id: 'github.com/dhowden/tag.ReadFrom',
        name: 'ReadFrom',
        purl: 'pkg:golang/github.com/dhowden/tag@v0.0.0-20200101',
      },
      {
        id: 'github.com/dhowden/tag.ReadAtoms',
        name: 'ReadAtoms',
        purl: 'pkg:golang/github.com/dhowden/tag@v0.0.0-20200101',
      },
    ],
    edges: [
      { sourceId: 'example.com/tagger.main', targetId: 'example.com/tagger.load', kind: 'static' },
      { sourceId: 'example.com/tagger.load', targetId: 'github.com/dhowden/tag.ReadFrom', kind: 'static' },
    ],
    entrypoints: [{ nodeId: 'example.com/tagger.main', kind: 'main', order: 0 }],
  };
}

describe('signals with AOC advisories and NATS', () => {
  let nats: NatsServer;
  let t: TestServer;
  let token: string;
  const headers = (extra: Record<string, string> = {}) => ({
    authorization: `Bearer ${token}`,
    'x-stella-tenant': 'default',
    ...extra,
  });

  before(async () => {
    nats = await startNats();
    t = await startTestServer({ STELLA_NATS_URL: nats.url });
    token = await t.token();
  });
  after(async () => {
    await t.close();
    await nats.stop();
  });

  test('default targets come from the vulnerable symbols of an ingested OSV advisory, and the fact event reaches JetStream', async () => {
    const advisory = await fetch(`${t.base}/ingest/advisory`, {
      method: 'POST',
      headers: headers({ 'content-type': 'application/json', 'x-stella-source-vendor': 'go-vulndb' }),
      body: readFileSync(join(FIXTURES, 'osv-go/current/GO-2021-0097.json')),
    });
    assert.ok(advisory.status < 300, await advisory.clone().text());

    const cg = await fetch(`${t.base}/signals/callgraphs`, {
      method: 'POST',
      headers: headers({ 'content-type': 'application/json' }),
      body: JSON.stringify(goGraph()),
    });
    assert.equal(cg.status, 202);
    const { callgraphId } = (await cg.json()) as { callgraphId: string };
    const rt = await fetch(
      `${t.base}/signals/runtime-facts/ndjson?callgraphId=${callgraphId}&imageDigest=sha256:feed`,
      {
        method: 'POST',
        headers: headers({ 'content-type': 'application/x-ndjson' }),
        body: `${JSON.stringify({ symbolId: 'github.com/dhowden/tag.ReadFrom', hitCount: 3 })}\n`,
      },
    );
    assert.equal(rt.status, 202);
    const re = await fetch(`${t.base}/signals/reachability/recompute`, {
      method: 'POST',
      headers: headers({ 'content-type': 'application/json' }),
      body: JSON.stringify({ subjectKey: 'sha256:feed', wait: true }),
    });
    assert.equal(re.status, 200, await re.clone().text());
    const fact = (await (await fetch(`${t.base}/signals/facts/sha256%3Afeed`, { headers: headers() })).json()) as {
      states: { target: string; advisoryId?: string; state: string; bucket: string }[];
      provenance: { targetsSource: string };
      digest: string;
    };
    assert.equal(fact.provenance.targetsSource, 'advisories');
    const byTarget = Object.fromEntries(fact.states.map((s) => [s.target, s]));
    assert.equal(byTarget['github.com/dhowden/tag.ReadFrom']!.advisoryId, 'GO-2021-0097');
    assert.equal(byTarget['github.com/dhowden/tag.ReadFrom']!.state, 'ConfirmedReachable');
    assert.equal(byTarget['github.com/dhowden/tag.ReadAtoms']!.state, 'StaticallyUnreachable');
    // Symbols of the advisory that this graph does not contain are unknowns, not silently dropped.
    assert.equal(byTarget.ReadID3v2Tags?.bucket, 'unknown');

    const nc = await connect({ servers: nats.url });
    try {
      const jsm = await jetstreamManager(nc);
      const deadline = Date.now() + 20_000;
      let found: Record<string, unknown> | undefined;
      while (!found && Date.now() < deadline) {
        const info = await jsm.streams.info('SIGNALS_FACTS').catch(() => undefined);
        for (
          let seq = info?.state.first_seq ?? 1;
          info && info.state.messages > 0 && seq <= info.state.last_seq;
          seq++
        ) {
          const m = await jsm.streams.getMessage('SIGNALS_FACTS', { seq });
          const data = m?.json<Record<string, unknown>>();
          if (data?.fact_kind === 'reachability' && data.digest === fact.digest) found = data;
        }
        if (!found) await new Promise((r) => setTimeout(r, 200));
      }
      assert.ok(found, 'the reachability fact event was published to JetStream');
      assert.equal(found.subject_key, 'sha256:feed');
      assert.equal(found.tenant, 'default');
    } finally {
      await nc.drain();
    }
  });
});
