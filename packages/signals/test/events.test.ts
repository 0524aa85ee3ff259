// Fact events to a real nats-server with JetStream: delivery with dedupe on event_id, the dead-letter
// subject after the attempts run out, and the whole path outbox → bridge → stream.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createLogger, createOutboxDispatcher } from '@stella/platform';
import { type NatsServer, startNats, testBackend } from '@stella/testkit';
import { createNatsBridge, FACT_DLQ_STREAM, FACT_STREAM } from '../src/events.ts';
import { RuntimeAggregate } from '../src/runtime/events.ts';
import { type Harness, sampleGraph, startHarness } from './harness.ts';

const logger = createLogger({ level: 'silent' });

async function readAll(
  nc: NatsConnection,
  stream: string,
): Promise<{ data: Record<string, unknown>; headers: Record<string, string> }[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream);
  const out: { data: Record<string, unknown>; headers: Record<string, string> }[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq });
    if (!m) continue;
    const headers: Record<string, string> = {};
    for (const [k, v] of m.header ?? []) headers[k] = v[0]!;
    out.push({ data: m.json(), headers });
  }
  return out;
}

describe(`fact events over NATS JetStream (${testBackend()})`, () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  before(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
  });
  after(async () => {
    await nc.drain();
    await nats.stop();
  });

  test('events are published once per event_id, even when delivered twice', async () => {
    const bridge = createNatsBridge({ url: nats.url, maxAttempts: 3, logger });
    const message = {
      tenant: 'acme',
      id: '01J',
      topic: 'signals.fact.updated.v1',
      payload: { event_id: '6f1c9d7e-0000-4000-8000-000000000001', tenant: 'acme', fact_version: 1 },
      attempts: 0,
    };
    await bridge.handler(message);
    await bridge.handler(message);
    await bridge.close();
    const messages = await readAll(nc, FACT_STREAM);
    assert.equal(messages.length, 1);
    assert.equal(messages[0]!.data.fact_version, 1);
    assert.equal(messages[0]!.headers.tenant, 'acme');
    await assert.rejects(bridge.handler(message), /closed/);
  });

  test('a publish the stream refuses is retried, then parked on signals.fact.updated.dlq with dlq_reason', async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.update(FACT_STREAM, { max_msg_size: 32 });
    const bridge = createNatsBridge({ url: nats.url, maxAttempts: 3, logger });
    const message = {
      tenant: 'acme',
      id: '01K',
      topic: 'signals.fact.updated.v1',
      payload: { event_id: '6f1c9d7e-0000-4000-8000-000000000002', tenant: 'acme', big: 'x'.repeat(100) },
    };
    await assert.rejects(
      bridge.handler({ ...message, attempts: 0 } as never),
      'the first failures are thrown so the outbox retries',
    );
    await bridge.handler({ ...message, attempts: 2 } as never);
    await bridge.close();
    const dlq = await readAll(nc, FACT_DLQ_STREAM);
    assert.equal(dlq.length, 1);
    assert.equal(dlq[0]!.data.event_id, message.payload.event_id);
    assert.match(dlq[0]!.headers.dlq_reason!, /.+/);
    assert.equal(dlq[0]!.headers.dlq_attempts, '3');
    await jsm.streams.update(FACT_STREAM, { max_msg_size: -1 });
  });

  describe('outbox → bridge → stream', () => {
    let h: Harness;
    before(async () => {
      h = await startHarness();
    });
    after(() => h.close());

    test('a recomputed fact reaches JetStream with the spec §1.5 envelope', async () => {
      const cg = await h.signals.ingestCallgraph('acme', sampleGraph());
      const aggregate = new RuntimeAggregate();
      aggregate.add('lib:parse', 2, undefined);
      await h.signals.ingestRuntime('acme', {
        callgraphId: cg.callgraphId,
        subject: { scanId: 'nats-1' },
        batch: { aggregate, bytes: Buffer.from('{"hitCount":2,"symbolId":"lib:parse"}\n') },
      });
      await h.signals.recompute('acme', { subjectKey: 'nats-1', targets: ['lib:vulnSink'] });
      const fact = await h.signals.getFact('acme', 'nats-1');
      const bridge = createNatsBridge({ url: nats.url, maxAttempts: 3, logger });
      const outbox = createOutboxDispatcher(h.t.db, (e) => {
        throw e;
      });
      outbox.subscribe('signals.fact.updated.v1', bridge.handler);
      assert.ok((await outbox.drain()) >= 2);
      await bridge.close();
      const events = (await readAll(nc, FACT_STREAM)).map((m) => m.data).filter((d) => d.subject_key === 'nats-1');
      assert.deepEqual(events.map((e) => e.fact_kind).sort(), ['reachability', 'runtime']);
      const reach = events.find((e) => e.fact_kind === 'reachability')!;
      assert.equal(reach.digest, fact.digest);
      assert.equal(reach.fact_version, fact.factVersion);
      for (const key of [
        'event_id',
        'emitted_at',
        'tenant',
        'subject_key',
        'fact_kind',
        'fact_version',
        'digest',
        'content_type',
        'producer',
        'source',
        'trace',
      ]) {
        assert.ok(key in reach, key);
      }
      // The JetStream client is used for reading only; keep the import honest.
      assert.ok(jetstream(nc));
    });
  });
});
