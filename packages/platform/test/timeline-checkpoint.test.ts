// The pure checkpoint core: what a checkpoint signs, which tampering each check catches, and how a
// chain is verified from genesis or from the checkpoint retention pruned up to.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { type DsseTrustedKey, dsseSign } from '@stella/core';
import { keyIdOf } from '../src/signing/index.ts';
import {
  CHECKPOINT_PAYLOAD_TYPE,
  type CheckpointStatement,
  checkCheckpoint,
  checkpointCron,
  checkpointPayload,
  eventHash,
  GENESIS_HASH,
  type TimelineCheckpoint,
  type TimelineEvent,
  timelineVerifier,
} from '../src/timeline/index.ts';

function keyPair() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const keyid = keyIdOf(publicKey);
  return { keyid, privateKey, trusted: { keyid, publicKey } satisfies DsseTrustedKey };
}

function chain(tenant: string, n: number): TimelineEvent[] {
  const events: TimelineEvent[] = [];
  let prevHash: string = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const unsigned = {
      tenant,
      seq,
      eventId: `01J${String(seq).padStart(23, '0')}`,
      occurredAt: new Date(Date.UTC(2026, 0, 1, 0, seq)).toISOString(),
      category: 'runtime',
      kind: 'k',
      details: { seq },
      traceId: null,
      prevHash,
    };
    const event = { ...unsigned, hash: eventHash(unsigned) };
    events.push(event);
    prevHash = event.hash;
  }
  return events;
}

function checkpointOf(event: TimelineEvent, key: ReturnType<typeof keyPair>): TimelineCheckpoint {
  const statement: CheckpointStatement = {
    tenant: event.tenant,
    seq: event.seq,
    headHash: event.hash,
    eventCount: event.seq,
    createdAt: '2026-01-01T12:00:00.000Z',
  };
  return {
    ...statement,
    checkpointId: `01K${String(event.seq).padStart(23, '0')}`,
    keyid: key.keyid,
    envelope: dsseSign(CHECKPOINT_PAYLOAD_TYPE, checkpointPayload(statement), [
      { keyid: key.keyid, privateKey: key.privateKey },
    ]),
  };
}

function verify(events: TimelineEvent[], checkpoints: TimelineCheckpoint[], trusted: DsseTrustedKey[]) {
  const verifier = timelineVerifier('acme', checkpoints, trusted);
  for (const event of events) if (!verifier.push(event)) break;
  return verifier.verdict();
}

describe('timeline checkpoints (pure core)', () => {
  const key = keyPair();
  const events = chain('acme', 10);

  test('the payload is canonical JSON of the statement, whatever the field order', () => {
    const statement = { tenant: 'acme', seq: 3, headHash: events[2]!.hash, eventCount: 3, createdAt: 'x' };
    const payload = checkpointPayload(statement).toString('utf8');
    assert.equal(payload, `{"createdAt":"x","eventCount":3,"headHash":"${events[2]!.hash}","seq":3,"tenant":"acme"}`);
    const reordered = {
      createdAt: 'x',
      seq: 3,
      tenant: 'acme',
      eventCount: 3,
      headHash: events[2]!.hash,
    } as CheckpointStatement;
    assert.deepEqual(checkpointPayload(reordered), checkpointPayload(statement));
  });

  test('a checkpoint verifies with its key and fails with another, another tenant or an edited row', () => {
    const checkpoint = checkpointOf(events[4]!, key);
    assert.deepEqual(checkCheckpoint(checkpoint, 'acme', [key.trusted]), { ok: true, keyid: key.keyid });
    const other = keyPair();
    const wrongKey = checkCheckpoint(checkpoint, 'acme', [other.trusted]);
    assert.equal(wrongKey.ok, false);
    assert.match((wrongKey as { reason: string }).reason, /signature does not verify/);
    assert.match(
      (checkCheckpoint(checkpoint, 'globex', [key.trusted]) as { reason: string }).reason,
      /signed tenant "acme" differs from "globex"/,
    );
    for (const edit of [{ seq: 6 }, { headHash: events[5]!.hash }, { createdAt: '2027-01-01T00:00:00.000Z' }]) {
      const result = checkCheckpoint({ ...checkpoint, ...edit }, 'acme', [key.trusted]);
      assert.equal(result.ok, false, JSON.stringify(edit));
    }
    const sig = Buffer.from(checkpoint.envelope.signatures[0]!.sig, 'base64');
    sig[10] = (sig[10]! + 1) % 256;
    const flipped = {
      ...checkpoint,
      envelope: { ...checkpoint.envelope, signatures: [{ keyid: key.keyid, sig: sig.toString('base64') }] },
    };
    assert.equal(checkCheckpoint(flipped, 'acme', [key.trusted]).ok, false);
    const retyped = { ...checkpoint, envelope: { ...checkpoint.envelope, payloadType: 'application/json' } };
    assert.match((checkCheckpoint(retyped, 'acme', [key.trusted]) as { reason: string }).reason, /payload type/);
  });

  test('from genesis: the whole chain, every checkpoint checked against it', () => {
    const verdict = verify(events, [checkpointOf(events[3]!, key), checkpointOf(events[7]!, key)], [key.trusted]);
    assert.equal(verdict.ok, true);
    assert.equal(verdict.from, 'genesis');
    assert.equal(verdict.checked, 10);
    assert.equal(verdict.checkpoints, 2);
    assert.equal(verdict.head, events[9]!.hash);
  });

  test('from a checkpoint: the first retained event links to its signed head', () => {
    const anchor = checkpointOf(events[3]!, key);
    const verdict = verify(events.slice(4), [anchor, checkpointOf(events[7]!, key)], [key.trusted]);
    assert.equal(verdict.ok, true, JSON.stringify(verdict));
    assert.equal(verdict.from, 'checkpoint');
    assert.deepEqual(verdict.anchor, {
      checkpointId: anchor.checkpointId,
      seq: 4,
      headHash: events[3]!.hash,
      keyid: key.keyid,
      createdAt: anchor.createdAt,
    });
    assert.equal(verdict.checked, 6);
    assert.equal(verdict.head, events[9]!.hash);
  });

  test('everything pruned up to the head: the checkpoint alone is the verified head', () => {
    const verdict = verify([], [checkpointOf(events[9]!, key)], [key.trusted]);
    assert.equal(verdict.ok, true);
    assert.equal(verdict.from, 'checkpoint');
    assert.equal(verdict.checked, 0);
    assert.equal(verdict.head, events[9]!.hash);
  });

  test('an empty timeline verifies from genesis', () => {
    assert.deepEqual(verify([], [], []), { ok: true, from: 'genesis', checkpoints: 0, checked: 0, head: GENESIS_HASH });
  });

  test('removed events with no checkpoint at the seq before them break the chain', () => {
    const noAnchor = verify(events.slice(4), [], [key.trusted]);
    assert.equal(noAnchor.ok, false);
    assert.equal(noAnchor.brokenAt?.seq, 5);
    assert.match(noAnchor.brokenAt!.reason, /no valid signed checkpoint at seq 4/);
    // A checkpoint at another seq does not cover the gap either.
    const elsewhere = verify(events.slice(4), [checkpointOf(events[2]!, key)], [key.trusted]);
    assert.equal(elsewhere.brokenAt?.seq, 5);
  });

  test('a first retained event that does not link to the signed head is named', () => {
    const anchor = checkpointOf(events[3]!, key);
    const [first, ...rest] = events.slice(4);
    const relinked = { ...first!, prevHash: events[2]!.hash };
    const verdict = verify([{ ...relinked, hash: eventHash(relinked) }, ...rest], [anchor], [key.trusted]);
    assert.equal(verdict.ok, false);
    assert.equal(verdict.brokenAt?.seq, 5);
    assert.match(verdict.brokenAt!.reason, /does not match the head hash signed by checkpoint/);
  });

  test('a chain rewritten consistently after a checkpoint fails at the signed seq', () => {
    // Every hash recomputed from seq 3 on: the chain links, but seq 5 is not the head that was signed.
    const rewritten: TimelineEvent[] = events.slice(0, 2);
    for (const event of events.slice(2)) {
      const unsigned = { ...event, details: { rewritten: true }, prevHash: rewritten.at(-1)!.hash };
      rewritten.push({ ...unsigned, hash: eventHash(unsigned) });
    }
    const verdict = verify(rewritten, [checkpointOf(events[4]!, key)], [key.trusted]);
    assert.equal(verdict.ok, false);
    assert.equal(verdict.brokenAt?.seq, 5);
    assert.match(verdict.brokenAt!.reason, /differs from the head signed by checkpoint/);
  });

  test('events missing after a checkpoint (a truncated tail) break the chain', () => {
    const verdict = verify(events.slice(0, 6), [checkpointOf(events[8]!, key)], [key.trusted]);
    assert.equal(verdict.ok, false);
    assert.equal(verdict.brokenAt?.seq, 7);
    assert.match(verdict.brokenAt!.reason, /events after seq 6 are missing/);
  });

  test('an invalid checkpoint fails verification and is named, even when the chain itself is whole', () => {
    const good = checkpointOf(events[3]!, key);
    const forged = checkpointOf(events[7]!, keyPair());
    const verdict = verify(events, [good, forged], [key.trusted]);
    assert.equal(verdict.ok, false);
    assert.equal(verdict.checkpoints, 1);
    assert.deepEqual(verdict.invalidCheckpoint?.checkpointId, forged.checkpointId);
    assert.equal(verdict.invalidCheckpoint?.seq, 8);
    assert.equal(verdict.brokenAt?.eventId, forged.checkpointId, 'brokenAt names it for readers of the older shape');
    // As the anchor, an invalid checkpoint covers nothing.
    const anchored = verify(events.slice(8), [forged], [key.trusted]);
    assert.equal(anchored.ok, false);
    assert.match(anchored.brokenAt!.reason, /no valid signed checkpoint at seq 8/);
    assert.equal(anchored.invalidCheckpoint?.seq, 8);
  });

  test('checkpoints signed by a retired key verify when that key is still trusted', () => {
    const retired = keyPair();
    const verdict = verify(
      events.slice(4),
      [checkpointOf(events[3]!, retired), checkpointOf(events[7]!, key)],
      [key.trusted, retired.trusted],
    );
    assert.equal(verdict.ok, true, JSON.stringify(verdict));
    assert.equal(verdict.anchor?.keyid, retired.keyid);
    assert.equal(verdict.checkpoints, 2);
  });

  test('the checkpoint job is checked often enough for its interval, at most every minute', () => {
    assert.equal(checkpointCron(60), '* * * * *');
    assert.equal(checkpointCron(119), '* * * * *');
    assert.equal(checkpointCron(300), '*/5 * * * *');
    assert.equal(checkpointCron(420), '*/6 * * * *');
    assert.equal(checkpointCron(1800), '*/30 * * * *');
    assert.equal(checkpointCron(3600), '0 * * * *');
    assert.equal(checkpointCron(86_400), '0 * * * *');
  });
});
