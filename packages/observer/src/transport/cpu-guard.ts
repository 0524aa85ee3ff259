// SPDX-License-Identifier: Apache-2.0
// The sampler's CPU guard (seed 001 `Sampler:MaxCpuPercent`): the CPU time the observer spends in its
// own synchronous work (serialising, gzip, starting a request, spool writes) is measured with
// process.cpuUsage() deltas around that work and summed over a sliding window of wall time. While the
// sum exceeds the cap as a share of one core, new events are dropped (cpu_guard), which takes work
// away from the observer until the window slides past the burst.
//
// process.cpuUsage() is process-wide: a delta around our code also catches what other threads (GC,
// libuv pool, workers) burned meanwhile, so the guard errs towards dropping. Asynchronous I/O done by
// the kernel or by callbacks we do not wrap is not attributed; the wrapped sections are where the
// observer's cost grows with the event rate.

/** Long enough to smooth one gzip of a large batch, short enough to recover within seconds. */
export const CPU_WINDOW_MS = 10_000;
/** Slices of the window: a burst leaves the window one slice at a time rather than all at once. */
const SLICES = 10;

export class CpuGuard {
  private readonly sliceMs = CPU_WINDOW_MS / SLICES;
  /** Microseconds of CPU per slice, keyed by slice number (wall ms / sliceMs). */
  private readonly slices = new Map<number, number>();
  private readonly maxPercent: number;

  constructor(maxPercent: number) {
    this.maxPercent = maxPercent;
  }

  /** Adds `cpuMicros` spent at wall time `nowMs`. */
  add(cpuMicros: number, nowMs: number): void {
    const slice = Math.floor(nowMs / this.sliceMs);
    this.slices.set(slice, (this.slices.get(slice) ?? 0) + Math.max(0, cpuMicros));
    this.prune(slice);
  }

  /** The observer's share of one core over the window ending at `nowMs`, in percent. */
  percent(nowMs: number): number {
    const slice = Math.floor(nowMs / this.sliceMs);
    this.prune(slice);
    let micros = 0;
    for (const v of this.slices.values()) micros += v;
    return (micros / 1000 / CPU_WINDOW_MS) * 100;
  }

  /** True while new events must be dropped. */
  over(nowMs: number): boolean {
    return this.percent(nowMs) > this.maxPercent;
  }

  /** Runs `work` and charges its CPU time (user + system) to the window. */
  measure<T>(work: () => T, now: () => number): T {
    const before = process.cpuUsage();
    try {
      return work();
    } finally {
      const used = process.cpuUsage(before);
      this.add(used.user + used.system, now());
    }
  }

  private prune(current: number): void {
    for (const slice of this.slices.keys()) {
      if (slice <= current - SLICES || slice > current + SLICES) this.slices.delete(slice);
    }
  }
}
