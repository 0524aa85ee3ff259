// SPDX-License-Identifier: Apache-2.0
// @stella/signals: callgraphs, runtime facts, reachability, fact events and offline runtime ingest.
export { signalsModule } from './module.ts';
