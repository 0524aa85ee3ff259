// SPDX-License-Identifier: Apache-2.0
// What the runtime observer needs from the builder, without the builder (no platform, no CLI): the
// scanner, the package lookup and the id rule, so a function V8 ran gets the static node's id.
export { nodeSymbolId, npmPurl } from './ids.ts';
export type { PackageInfo } from './resolve.ts';
export { createResolver, posixRelative } from './resolve.ts';
export type { FunctionEntry } from './scan.ts';
export { scanModule } from './scan.ts';
export { isTypeScriptFile, scanFile } from './typescript.ts';
