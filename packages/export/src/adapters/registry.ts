// SPDX-License-Identifier: Apache-2.0
// The adapters this build has, by profile kind:variant. Profiles of other kinds can be stored (the
// schema knows every kind of the spec) but not run: submission refuses them with ERR_EXPORT_001.
import { StellaError } from '@stella/core';
import { ExportErrors } from '../errors.ts';
import type { ExportAdapter } from './adapter.ts';
import { jsonPolicyAdapter } from './json-policy.ts';
import { jsonRawAdapter } from './json-raw.ts';
import { mirrorDeltaAdapter, mirrorFullAdapter } from './mirror.ts';
import { trivyDbAdapter } from './trivy-db.ts';

/** Adding a format: implement ExportAdapter in one file and list it here. */
const ADAPTERS: readonly ExportAdapter[] = [
  jsonRawAdapter,
  jsonPolicyAdapter,
  trivyDbAdapter,
  mirrorFullAdapter,
  mirrorDeltaAdapter,
];

const byKind: ReadonlyMap<string, ExportAdapter> = new Map(ADAPTERS.map((a) => [`${a.kind}:${a.variant}`, a]));

/** The `kind:variant` names runnable in this build, e.g. `json:raw`. */
export const SUPPORTED_KINDS: ReadonlySet<string> = new Set(byKind.keys());

/** The adapter for a profile kind (`json:raw`), or ERR_EXPORT_001 naming the kinds this build can run. */
export function adapterFor(kind: string): ExportAdapter {
  const adapter = byKind.get(kind);
  if (!adapter) {
    throw new StellaError(
      ExportErrors.validation,
      `profile kind ${kind} has no adapter in this build (supported: ${[...SUPPORTED_KINDS].join(', ')})`,
    );
  }
  return adapter;
}
