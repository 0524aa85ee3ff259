// SPDX-License-Identifier: Apache-2.0
// `node --import @stella/observer/register app.js` (or `stella observe -- …`, which sets it up): starts
// coverage before the app's modules load, takes it every Ingest:FlushIntervalMs, and streams the
// functions that ran to Signals through the transport. Configured by environment (README.md). A bad
// configuration prints one line and leaves the app running unobserved: the observer never stops the
// host. Loaded in the main thread and, through the inherited --import, in every worker thread (each
// isolate needs its own inspector session).
import { isMainThread } from 'node:worker_threads';
import { startObserver } from './observe.ts';

try {
  startObserver(process.env);
} catch (error) {
  process.stderr.write(
    `stella-observer: not observing${isMainThread ? '' : ' (worker thread)'}: ${(error as Error).message}\n`,
  );
}
