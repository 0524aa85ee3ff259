// SPDX-License-Identifier: Apache-2.0
// The static JavaScript call-graph builder (`stella callgraph node`): modules resolved as Node resolves
// them, functions keyed as V8 reports them, edges for calls, requires/imports, callbacks and re-exports.
// The runtime observer imports only `@stella/callgraph-js/runtime` (acorn, no platform code).
export type { BuildOptions, BuildStats, CallGraph } from './build.ts';
export { buildCallGraph } from './build.ts';
export { nodeSymbolId, npmPurl } from './ids.ts';
export type { Callee, CallSite, FunctionEntry, FunctionKind, ModuleScan } from './scan.ts';
export { scanModule } from './scan.ts';
export { isTypeScriptFile, scanFile } from './typescript.ts';
