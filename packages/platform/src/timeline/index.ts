export type { ChainVerdict, TimelineEvent } from './chain.ts';
export { eventHash, GENESIS_HASH, verifyChain } from './chain.ts';
export type { CheckpointCheck, CheckpointStatement, TimelineCheckpoint, TimelineVerdict } from './checkpoint.ts';
export {
  CHECKPOINT_KEY_PURPOSE,
  CHECKPOINT_PAYLOAD_TYPE,
  checkCheckpoint,
  checkpointPayload,
  timelineVerifier,
} from './checkpoint.ts';
export type { CheckpointResult, PruneReport, TimelineCheckpoints, TimelineCheckpointsDeps } from './checkpoints.ts';
export { createTimelineCheckpoints, trustedKeys } from './checkpoints.ts';
export {
  CHECKPOINT_QUEUE,
  checkpointCron,
  defineTimelineQueues,
  RETENTION_CRON,
  RETENTION_QUEUE,
  registerTimelineJobs,
} from './jobs.ts';
export type { OutboxDispatcher, OutboxHandler } from './outbox.ts';
export { createOutboxDispatcher } from './outbox.ts';
export type { TimelineRouteDeps } from './routes.ts';
export { registerTimelineRoutes, TIMELINE_APPENDED_TOPIC } from './routes.ts';
export type { EventFilter } from './sql/timeline.ts';
export type { Timeline, TimelineEntry } from './timeline.ts';
export { createTimeline } from './timeline.ts';
export type { WireCheckpoint, WireEvent } from './wire.ts';
export {
  checkpointFromWire,
  checkpointToWire,
  fromWire,
  TimelineCheckpointSchema,
  TimelineEventSchema,
  toWire,
} from './wire.ts';
