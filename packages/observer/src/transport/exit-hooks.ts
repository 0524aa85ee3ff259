// SPDX-License-Identifier: Apache-2.0
// Flushing when the host stops, without changing how it stops. One set of process listeners serves
// every transport in the thread (so one transport never mistakes another's listener for the host's):
//  - beforeExit (the loop ran dry): send what is pending within the exit deadline;
//  - SIGTERM / SIGINT (main thread only; signals are never delivered to worker threads): send what
//    is pending within the deadline, then, if the host has no listener of its own for the signal,
//    spool the rest, remove ours and re-raise the signal so the process ends as Node's default
//    would (killed by that signal). With a host listener, the host decides and we only flushed;
//  - exit (synchronous only): whatever is still in memory goes to the spool with synchronous fs.
// In a worker thread, 'beforeExit' and 'exit' fire on the worker's own process object when the worker
// ends by itself or calls process.exit(); worker.terminate() from the parent stops JavaScript at once
// and runs neither, so events recorded since the last batch are lost there: call close() first.
import { isMainThread } from 'node:worker_threads';

export interface ExitParticipant {
  hasPending(): boolean;
  flushForExit(): Promise<void>;
  spoolPendingSync(): void;
}

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;
type ExitSignal = (typeof SIGNALS)[number];

const participants = new Set<ExitParticipant>();
/** Marks our listeners, so a second copy of this module does not count them as the host's. */
const OURS = Symbol.for('stella.observer.exitListener');
let installed: { remove(): void } | undefined;
let flushingForExit = false;

const isOurs = (listener: unknown) => typeof listener === 'function' && OURS in listener;

function flushAll(): Promise<void> {
  return Promise.allSettled([...participants].map((p) => p.flushForExit())).then(() => {});
}

function spoolAllSync(): void {
  for (const p of participants) p.spoolPendingSync();
}

function install(): { remove(): void } {
  const onBeforeExit = () => {
    // Each flush that sends something runs the loop again and ends in another beforeExit; only
    // pending memory starts one, so the process still ends once everything was sent or spooled.
    if (flushingForExit || ![...participants].some((p) => p.hasPending())) return;
    flushingForExit = true;
    void flushAll().finally(() => {
      flushingForExit = false;
    });
  };
  const onExit = () => spoolAllSync();
  const signalListeners = new Map<ExitSignal, (signal: ExitSignal) => void>();
  for (const name of isMainThread ? SIGNALS : []) {
    let handling = false;
    const listener = (signal: ExitSignal) => {
      if (handling) return;
      handling = true;
      void flushAll().finally(() => {
        handling = false;
        const hostListens = process.listeners(signal).some((l) => !isOurs(l));
        if (hostListens) return;
        spoolAllSync();
        remove();
        process.kill(process.pid, signal);
      });
    };
    Object.defineProperty(listener, OURS, { value: true });
    signalListeners.set(name, listener);
    process.on(name, listener);
  }
  Object.defineProperty(onBeforeExit, OURS, { value: true });
  Object.defineProperty(onExit, OURS, { value: true });
  process.on('beforeExit', onBeforeExit);
  process.on('exit', onExit);
  const remove = () => {
    process.off('beforeExit', onBeforeExit);
    process.off('exit', onExit);
    for (const [name, listener] of signalListeners) process.off(name, listener);
    installed = undefined;
  };
  return { remove };
}

/** Adds a transport to the exit hooks (installing them with the first); answers its removal. */
export function registerExitHooks(participant: ExitParticipant): () => void {
  participants.add(participant);
  installed ??= install();
  return () => {
    participants.delete(participant);
    if (participants.size === 0) installed?.remove();
  };
}
