// Background jobs: pg-boss queues with retries, dead letters and per-key (per-tenant) concurrency.

export { queueAttemptMetrics, registerQueueMetrics } from './metrics.ts';
export type {
  DeadLetter,
  DefineQueueOptions,
  JobAttempt,
  JobHandler,
  JobQueue,
  QueueJob,
  QueueOptions,
  QueuePolicy,
  QueueStats,
  SendJobOptions,
  WorkOptions,
} from './queue.ts';
export { createJobQueue } from './queue.ts';
export { registerDeadLetterRoutes } from './routes.ts';
