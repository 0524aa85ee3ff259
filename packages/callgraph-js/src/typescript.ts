// SPDX-License-Identifier: Apache-2.0
// TypeScript as Node runs it: Node 24 executes .ts/.mts/.cts files by stripping their types, each
// type replaced by whitespace, so every function starts at the same offset in the file on disk and
// in the JavaScript V8 compiles (and reports coverage for). Stripping with Node's own stripper
// (`module.stripTypeScriptTypes`, mode "strip") makes the builder and the observer key TypeScript
// functions exactly as they key JavaScript ones. Syntax that needs code generated (enum, namespace
// with values, parameter properties) is refused by Node too unless --experimental-transform-types
// is given, and then its positions move: such a file is reported and scanned as empty.
import { stripTypeScriptTypes } from 'node:module';
import { emptyScan, MAX_MODULE_CHARS, type ModuleScan, scanModule } from './scan.ts';

/** Files Node runs by stripping their types. `.tsx` is not among them (Node has no JSX). */
export const isTypeScriptFile = (file: string): boolean => /\.[cm]?ts$/.test(file) && !/\.d\.[cm]?ts$/.test(file);

/** Files the builder scans: JavaScript and the TypeScript Node runs (not JSON, addons or declarations). */
export const isSourceFile = (file: string): boolean => /\.[cm]?js$/.test(file) || isTypeScriptFile(file);

/**
 * Node's stripper, without its once-per-process ExperimentalWarning: the builder's output and the
 * observed app's stderr are not the place for it (Node prints its own when it runs a .ts file).
 */
function strip(source: string): string {
  const emit = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === 'string' ? warning : warning.message;
    if (!text.includes('stripTypeScriptTypes')) (emit as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return stripTypeScriptTypes(source, { mode: 'strip' });
  } finally {
    process.emitWarning = emit;
  }
}

/** Scans a file's source: TypeScript is type-stripped first (same offsets), JavaScript as it is. */
export function scanFile(file: string, source: string): ModuleScan {
  if (!isTypeScriptFile(file) || source.length > MAX_MODULE_CHARS) return scanModule(source);
  let stripped: string;
  try {
    stripped = strip(source);
  } catch (error) {
    const reason = (error as Error).message.split('\n')[0];
    return {
      ...emptyScan(source),
      parseError: `TypeScript that Node runs only with --experimental-transform-types: ${reason}`,
    };
  }
  return scanModule(stripped);
}
