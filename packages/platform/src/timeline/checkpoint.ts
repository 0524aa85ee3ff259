// Signed checkpoints of a tenant's hash chain: a DSSE envelope over {tenant, seq, head hash, event
// count, createdAt}. Events up to a checkpoint may then be pruned, and the rest still verifies: the
// first retained event must link to the signed head, and every later checkpoint must match the chain.
import { canonicalJson, type DsseEnvelope, type DsseTrustedKey, dsseVerify } from '@stella/core';
import { type ChainVerdict, chainVerifier, GENESIS_HASH, type TimelineEvent } from './chain.ts';

export const CHECKPOINT_PAYLOAD_TYPE = 'application/vnd.stella.timeline-checkpoint+json';
/** The signing-key purpose of checkpoints: `stella keys list|rotate --purpose timeline`. */
export const CHECKPOINT_KEY_PURPOSE = 'timeline';

/** What a checkpoint signs. `eventCount` is the events the head covers from genesis (= seq, chains have no gaps). */
export interface CheckpointStatement {
  tenant: string;
  seq: number;
  headHash: string;
  eventCount: number;
  createdAt: string;
}

export interface TimelineCheckpoint extends CheckpointStatement {
  checkpointId: string;
  /** The key that signed it (a hint, as in DSSE; verification tries the tenant's timeline keys). */
  keyid: string;
  envelope: DsseEnvelope;
}

/** The signed bytes: canonical JSON, so the same statement always gives the same payload. */
export function checkpointPayload(statement: CheckpointStatement): Buffer {
  return Buffer.from(
    canonicalJson({
      createdAt: statement.createdAt,
      eventCount: statement.eventCount,
      headHash: statement.headHash,
      seq: statement.seq,
      tenant: statement.tenant,
    }),
    'utf8',
  );
}

export type CheckpointCheck = { ok: true; keyid: string } | { ok: false; reason: string };

/**
 * Checks one checkpoint: its envelope verifies with a trusted key, has the checkpoint payload type, and
 * signs exactly the statement its row claims, for this tenant. A row edited after signing fails here.
 */
export function checkCheckpoint(
  checkpoint: TimelineCheckpoint,
  tenant: string,
  trusted: readonly DsseTrustedKey[],
): CheckpointCheck {
  if (checkpoint.envelope.payloadType !== CHECKPOINT_PAYLOAD_TYPE) {
    return { ok: false, reason: `payload type is ${JSON.stringify(checkpoint.envelope.payloadType)}` };
  }
  const verified = dsseVerify(checkpoint.envelope, trusted);
  if (!verified.verified) return { ok: false, reason: `signature does not verify: ${verified.reason}` };
  let signed: Partial<CheckpointStatement>;
  try {
    signed = JSON.parse(verified.payload.toString('utf8')) as Partial<CheckpointStatement>;
  } catch {
    return { ok: false, reason: 'signed payload is not JSON' };
  }
  const claimed: CheckpointStatement = { ...checkpoint, tenant };
  for (const field of ['tenant', 'seq', 'headHash', 'eventCount', 'createdAt'] as const) {
    if (signed[field] !== claimed[field]) {
      return {
        ok: false,
        reason: `signed ${field} ${JSON.stringify(signed[field])} differs from ${JSON.stringify(claimed[field])}`,
      };
    }
  }
  if (signed.eventCount !== signed.seq) return { ok: false, reason: 'signed eventCount differs from its seq' };
  return { ok: true, keyid: verified.keyid };
}

export interface TimelineVerdict extends ChainVerdict {
  /** Where the chain was verified from: genesis, or the signed checkpoint that retention pruned up to. */
  from: 'genesis' | 'checkpoint';
  anchor?: { checkpointId: string; seq: number; headHash: string; keyid: string; createdAt: string };
  /** Retained checkpoints whose signature verified. */
  checkpoints: number;
  /** The first checkpoint (lowest seq) whose signature or statement does not verify. */
  invalidCheckpoint?: { checkpointId: string; seq: number; reason: string };
}

/**
 * Verifies a tenant's retained events, pushed in seq order, against its retained checkpoints: from
 * genesis when event 1 is present, else from the checkpoint at the seq just before the first retained
 * event. Every checkpoint must verify, and each one whose event is retained must sign that event's hash.
 */
export function timelineVerifier(
  tenant: string,
  checkpoints: readonly TimelineCheckpoint[],
  trusted: readonly DsseTrustedKey[],
): { push(event: TimelineEvent): boolean; verdict(): TimelineVerdict } {
  const valid = new Map<number, TimelineCheckpoint & { signedBy: string }>();
  let invalid: TimelineVerdict['invalidCheckpoint'];
  for (const checkpoint of [...checkpoints].sort((a, b) => a.seq - b.seq)) {
    const check = checkCheckpoint(checkpoint, tenant, trusted);
    if (check.ok) valid.set(checkpoint.seq, { ...checkpoint, signedBy: check.keyid });
    else invalid ??= { checkpointId: checkpoint.checkpointId, seq: checkpoint.seq, reason: check.reason };
  }

  let chain: ReturnType<typeof chainVerifier> | undefined;
  let anchor: (TimelineCheckpoint & { signedBy: string }) | undefined;
  let broken: ChainVerdict['brokenAt'];
  let lastSeq = 0;

  const push = (event: TimelineEvent): boolean => {
    if (broken) return false;
    if (!chain) {
      if (event.seq !== 1) {
        anchor = valid.get(event.seq - 1);
        if (!anchor) {
          broken = {
            seq: event.seq,
            eventId: event.eventId,
            reason: `events before seq ${event.seq} are missing and no valid signed checkpoint at seq ${event.seq - 1} covers them`,
          };
          return false;
        }
        if (event.prevHash !== anchor.headHash) {
          broken = {
            seq: event.seq,
            eventId: event.eventId,
            reason: `prevHash does not match the head hash signed by checkpoint ${anchor.checkpointId}`,
          };
          return false;
        }
      }
      chain = chainVerifier(anchor ? { seq: anchor.seq, hash: anchor.headHash } : { seq: 0, hash: GENESIS_HASH });
    }
    if (!chain.push(event)) {
      broken = chain.verdict().brokenAt;
      return false;
    }
    const signed = valid.get(event.seq);
    if (signed && signed.headHash !== event.hash) {
      broken = {
        seq: event.seq,
        eventId: event.eventId,
        reason: `hash differs from the head signed by checkpoint ${signed.checkpointId} (events rewritten)`,
      };
      return false;
    }
    lastSeq = event.seq;
    return true;
  };

  const verdict = (): TimelineVerdict => {
    const checked = chain?.verdict().checked ?? 0;
    // Nothing retained: every event up to the newest checkpoint was pruned, which then is the head.
    if (!chain && !broken && valid.size > 0) {
      anchor = [...valid.values()].at(-1)!;
      lastSeq = anchor.seq;
    }
    if (!broken) {
      const beyond = [...valid.values()].find((c) => c.seq > lastSeq);
      if (beyond) {
        broken = {
          seq: lastSeq + 1,
          eventId: beyond.checkpointId,
          reason: `events after seq ${lastSeq} are missing: checkpoint ${beyond.checkpointId} signed seq ${beyond.seq}`,
        };
      }
    }
    const head = chain?.verdict().head ?? anchor?.headHash ?? GENESIS_HASH;
    const base = {
      from: anchor ? ('checkpoint' as const) : ('genesis' as const),
      ...(anchor && {
        anchor: {
          checkpointId: anchor.checkpointId,
          seq: anchor.seq,
          headHash: anchor.headHash,
          keyid: anchor.signedBy,
          createdAt: anchor.createdAt,
        },
      }),
      checkpoints: valid.size,
      checked,
    };
    if (broken) return { ok: false, ...base, brokenAt: broken, ...(invalid && { invalidCheckpoint: invalid }) };
    if (invalid) {
      // brokenAt names the checkpoint too, so a reader of the older shape (the console) still shows why.
      return {
        ok: false,
        ...base,
        brokenAt: {
          seq: invalid.seq,
          eventId: invalid.checkpointId,
          reason: `signed checkpoint ${invalid.checkpointId} at seq ${invalid.seq} does not verify: ${invalid.reason}`,
        },
        invalidCheckpoint: invalid,
      };
    }
    return { ok: true, ...base, head };
  };

  return { push, verdict };
}
