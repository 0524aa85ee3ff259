// Background jobs: pg-boss queues with retries, dead letters and per-key (per-tenant) concurrency.

export { registerQueueMetrics } from './metrics.ts';
export type {
  DeadLetter,
  DefineQueueOptions,
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
