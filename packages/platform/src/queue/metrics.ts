// Queue depth for Prometheus, read at scrape time so the gauges are never stale: queued, active and
// dead-lettered jobs per queue (the orchestrator alert rules in ops/prometheus watch the last one).
import { Gauge, type Registry } from 'prom-client';
import type { JobQueue } from './queue.ts';

export function registerQueueMetrics(registry: Registry, queue: JobQueue): void {
  if (registry.getSingleMetric('stella_queue_jobs')) return;
  new Gauge({
    name: 'stella_queue_jobs',
    help: 'Jobs per queue and state (queued, active, dead_letter)',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const s of await queue.stats()) {
        this.set({ queue: s.queue, state: 'queued' }, s.queued);
        this.set({ queue: s.queue, state: 'active' }, s.active);
        this.set({ queue: s.queue, state: 'dead_letter' }, s.deadLetters);
      }
    },
  });
}
