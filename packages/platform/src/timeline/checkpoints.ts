// Timeline checkpoints and retention: signs the chain head of a tenant with its `timeline` key (on the
// checkpoint job's schedule, or on demand), prunes events older than timeline.retentionDays up to the
// newest checkpoint older than that, and verifies a chain from genesis or from its oldest checkpoint.
import { createPublicKey } from 'node:crypto';
import { type Clock, type DsseTrustedKey, Errors, isTenantId, newUlid, StellaError } from '@stella/core';
import type { Db } from '../db/index.ts';
import type { Logger } from '../http/logger.ts';
import { counter, gauge, type Registry } from '../metrics/index.ts';
import type { PublicSigningKey, SigningKeyStore } from '../signing/index.ts';
import {
  CHECKPOINT_KEY_PURPOSE,
  CHECKPOINT_PAYLOAD_TYPE,
  type CheckpointStatement,
  checkpointPayload,
  type TimelineCheckpoint,
  type TimelineVerdict,
  timelineVerifier,
} from './checkpoint.ts';
import {
  deleteThrough,
  insertCheckpoint,
  selectCheckpoints,
  selectHead,
  selectNewestCheckpoint,
  selectTenantsWithEvents,
} from './sql/checkpoints.ts';
import type { Timeline } from './timeline.ts';

export interface CheckpointResult {
  /** False when the head has not moved since the newest checkpoint, or the chain is empty. */
  written: boolean;
  /** The checkpoint written, else the newest one (undefined when there is none). */
  checkpoint: TimelineCheckpoint | undefined;
}

export interface PruneReport {
  tenant: string;
  retentionDays: number;
  /** Events older than this may go; undefined when retention is off (retentionDays 0). */
  cutoff: string | undefined;
  /** The checkpoint the events were pruned up to (inclusive); undefined when none is older than the cutoff. */
  throughSeq: number | undefined;
  prunedEvents: number;
  prunedCheckpoints: number;
}

export interface TimelineCheckpoints {
  /** Signs the tenant's head when it moved since its newest checkpoint. */
  write(tenant: string): Promise<CheckpointResult>;
  /** The checkpoint job: every tenant whose head moved and whose newest checkpoint is `intervalSeconds` old. */
  writeDue(intervalSeconds: number): Promise<TimelineCheckpoint[]>;
  /** Retained checkpoints, oldest first, in pages. */
  list(tenant: string, page: { afterSeq?: number | undefined; limit: number }): Promise<TimelineCheckpoint[]>;
  /** The tenant's public `timeline` keys of every status: retired keys still verify what they signed. */
  keys(tenant: string): Promise<PublicSigningKey[]>;
  /** Deletes events older than `retentionDays`, up to the newest checkpoint older than that. */
  prune(tenant: string, retentionDays: number): Promise<PruneReport>;
  /** The retention job: prune() for every tenant with events. */
  pruneAll(retentionDays: number): Promise<PruneReport[]>;
  /** The chain check on the server, from genesis or the oldest retained checkpoint. */
  verify(tenant: string): Promise<TimelineVerdict>;
}

export interface TimelineCheckpointsDeps {
  db: Db;
  clock: Clock;
  timeline: Timeline;
  signing: SigningKeyStore;
  metrics: Registry;
  logger: Logger;
}

// A checkpoint is due this long before its interval is over: the job runs on a minute cron whose firing
// wanders by a few seconds, and without the margin a checkpoint written a second late would wait out a
// whole extra interval.
const DUE_MARGIN_MS = 30_000;
const DAY_MS = 86_400_000;
/** Checkpoints read per page when verifying; they are few (one per interval at most). */
const CHECKPOINT_PAGE = 1000;

export function createTimelineCheckpoints(deps: TimelineCheckpointsDeps): TimelineCheckpoints {
  const { db, clock, timeline, signing, logger } = deps;
  const written = counter(deps.metrics, 'stella_timeline_checkpoints_total', 'Signed timeline checkpoints written.');
  const pruned = counter(
    deps.metrics,
    'stella_timeline_pruned_events_total',
    'Timeline events deleted by retention (timeline.retentionDays), always up to a signed checkpoint.',
  );
  const retentionRan = gauge(
    deps.metrics,
    'stella_timeline_retention_last_run_timestamp_seconds',
    'Unix time timeline retention last completed for a tenant (even when it pruned nothing).',
  );

  const keys = async (tenant: string) =>
    (await signing.listPublicKeys(tenant)).filter((k) => k.purpose === CHECKPOINT_KEY_PURPOSE);

  const write = async (tenant: string, dueBefore?: Date): Promise<CheckpointResult> => {
    assertTenant(tenant);
    const state = await db.transaction(
      async (tx) => ({ head: await selectHead(tx, tenant), newest: await selectNewestCheckpoint(tx, tenant) }),
      { tenant },
    );
    const { head, newest } = state;
    if (!head || head.seq === 0 || (newest && newest.seq >= head.seq)) return { written: false, checkpoint: newest };
    if (dueBefore && newest && Date.parse(newest.createdAt) > dueBefore.getTime()) {
      return { written: false, checkpoint: newest };
    }
    // The key is fetched (made on first use) outside the writing transaction: on PGlite a second
    // transaction opened inside the first would wait for it forever.
    const signer = await signing.getSigner(tenant, CHECKPOINT_KEY_PURPOSE, 'ed25519');
    // The head read above is a committed state of the chain; appends since then do not make it less true.
    const statement: CheckpointStatement = {
      tenant,
      seq: head.seq,
      headHash: head.hash,
      eventCount: head.seq,
      createdAt: clock.now().toISOString(),
    };
    const checkpoint: TimelineCheckpoint = {
      ...statement,
      checkpointId: newUlid(),
      keyid: signer.keyid,
      envelope: signer.signDsse(CHECKPOINT_PAYLOAD_TYPE, checkpointPayload(statement)),
    };
    const inserted = await db.transaction((tx) => insertCheckpoint(tx, checkpoint), { tenant });
    if (!inserted) {
      // Another worker signed the same head first; its checkpoint is the one kept.
      const kept = await db.transaction((tx) => selectNewestCheckpoint(tx, tenant), { tenant });
      return { written: false, checkpoint: kept };
    }
    written.inc();
    logger.info({ tenant, seq: checkpoint.seq, keyid: checkpoint.keyid }, 'timeline checkpoint signed');
    return { written: true, checkpoint };
  };

  const list = (tenant: string, page: { afterSeq?: number | undefined; limit: number }) =>
    db.transaction((tx) => selectCheckpoints(tx, tenant, page), { tenant });

  const prune = async (tenant: string, retentionDays: number): Promise<PruneReport> => {
    assertTenant(tenant);
    const base = { tenant, retentionDays, throughSeq: undefined, prunedEvents: 0, prunedCheckpoints: 0 };
    if (retentionDays <= 0) return { ...base, cutoff: undefined };
    const cutoff = new Date(clock.now().getTime() - retentionDays * DAY_MS).toISOString();
    // One transaction: the events, the checkpoints they made redundant and the event recording the
    // prune go together or not at all, so an interrupted prune never leaves a chain that starts nowhere.
    const report = await db.transaction(
      async (tx) => {
        // The newest checkpoint signed before the cutoff: every event it covers was appended before it
        // was signed, so before the cutoff too. Deleting by seq keeps the rest one gap-free run even if
        // clocks of several processes disagreed on occurred_at.
        const anchor = await selectNewestCheckpoint(tx, tenant, cutoff);
        if (!anchor) return { ...base, cutoff };
        const deleted = await deleteThrough(tx, tenant, anchor.seq);
        if (deleted.events > 0) {
          await timeline.append(tx, tenant, {
            category: 'timeline',
            kind: 'timeline.pruned',
            details: {
              throughSeq: anchor.seq,
              checkpointId: anchor.checkpointId,
              events: deleted.events,
              checkpoints: deleted.checkpoints,
              retentionDays,
              cutoff,
            },
          });
        }
        return {
          ...base,
          cutoff,
          throughSeq: anchor.seq,
          prunedEvents: deleted.events,
          prunedCheckpoints: deleted.checkpoints,
        };
      },
      { tenant },
    );
    pruned.inc(report.prunedEvents);
    retentionRan.set(clock.now().getTime() / 1000);
    const log = {
      tenant,
      retentionDays,
      cutoff,
      throughSeq: report.throughSeq,
      events: report.prunedEvents,
      checkpoints: report.prunedCheckpoints,
    };
    if (report.prunedEvents > 0) logger.info(log, 'timeline retention pruned events');
    else if (report.throughSeq === undefined) {
      logger.info(log, 'timeline retention: no checkpoint older than the cutoff, nothing pruned');
    }
    return report;
  };

  const tenantsWithEvents = () => db.transaction((tx) => selectTenantsWithEvents(tx));

  /**
   * Runs a job's step for every tenant: one tenant's failure (its key cannot be opened, say) is logged
   * and the others still get theirs; the job then fails, so the queue retries it and the failure shows.
   */
  const eachTenant = async (tenants: string[], what: string, step: (tenant: string) => Promise<void>) => {
    const failed: string[] = [];
    for (const tenant of tenants) {
      try {
        await step(tenant);
      } catch (error) {
        failed.push(tenant);
        logger.error({ tenant, err: error }, `${what} failed`);
      }
    }
    if (failed.length > 0) {
      throw new StellaError(Errors.internal, `${what} failed for ${failed.length} tenant(s): ${failed.join(', ')}`);
    }
  };

  return {
    write: (tenant) => write(tenant),
    async writeDue(intervalSeconds) {
      const dueBefore = new Date(clock.now().getTime() - intervalSeconds * 1000 + DUE_MARGIN_MS);
      const out: TimelineCheckpoint[] = [];
      await eachTenant(await tenantsWithEvents(), 'timeline checkpoint', async (tenant) => {
        const result = await write(tenant, dueBefore);
        if (result.written && result.checkpoint) out.push(result.checkpoint);
      });
      return out;
    },
    list,
    keys,
    prune,
    async pruneAll(retentionDays) {
      const reports: PruneReport[] = [];
      if (retentionDays <= 0) return reports;
      await eachTenant(await tenantsWithEvents(), 'timeline retention', async (tenant) => {
        reports.push(await prune(tenant, retentionDays));
      });
      return reports;
    },
    async verify(tenant) {
      assertTenant(tenant);
      // Checkpoints before events: a checkpoint written meanwhile is not asked for, and every event a
      // listed checkpoint covers is committed, so a missing one is a real gap.
      const checkpoints = await allCheckpoints((page) => list(tenant, page));
      const verifier = timelineVerifier(tenant, checkpoints, trustedKeys(await keys(tenant)));
      for await (const event of timeline.stream(tenant, {})) if (!verifier.push(event)) break;
      return verifier.verdict();
    },
  };
}

/** Every retained checkpoint, oldest first, read page by page. */
export async function allCheckpoints(
  read: (page: { afterSeq: number; limit: number }) => Promise<TimelineCheckpoint[]>,
): Promise<TimelineCheckpoint[]> {
  const out: TimelineCheckpoint[] = [];
  for (let afterSeq = 0; ; ) {
    const page = await read({ afterSeq, limit: CHECKPOINT_PAGE });
    out.push(...page);
    if (page.length < CHECKPOINT_PAGE) return out;
    afterSeq = page.at(-1)!.seq;
  }
}

/** Public keys as DSSE trust roots, parsed once for the many checkpoints they verify. */
export function trustedKeys(keys: readonly Pick<PublicSigningKey, 'keyid' | 'publicKeyPem'>[]): DsseTrustedKey[] {
  return keys.map((k) => ({ keyid: k.keyid, publicKey: createPublicKey(k.publicKeyPem) }));
}

function assertTenant(tenant: string): void {
  if (!isTenantId(tenant)) throw new StellaError(Errors.validation, `invalid tenant id ${JSON.stringify(tenant)}`);
}
