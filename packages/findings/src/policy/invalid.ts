// SPDX-License-Identifier: Apache-2.0
// The one way a refused policy is reported, by the CLI (a file) and the server (a body): ERR_POLICY_INVALID
// naming the first errors with line and column, every diagnostic in the details.
import { StellaError, sha256Hex } from '@stella/core';
import { FindingsErrors } from '../errors.ts';
import type { PolicyDiagnostic } from './lint.ts';
import { canonicalPolicy } from './parse.ts';
import type { Policy } from './schema.ts';

/** How many errors the message names; the details carry all of them. */
const ERRORS_IN_MESSAGE = 5;

export function policyInvalid(name: string, diagnostics: readonly PolicyDiagnostic[]): StellaError {
  const errors = diagnostics.filter((d) => d.severity === 'error');
  const named = errors.slice(0, ERRORS_IN_MESSAGE).map((d) => `${d.line}:${d.column} ${d.code} ${d.message}`);
  const more = errors.length > ERRORS_IN_MESSAGE ? `; and ${errors.length - ERRORS_IN_MESSAGE} more` : '';
  const count = `${errors.length} error${errors.length === 1 ? '' : 's'}`;
  return new StellaError(
    FindingsErrors.policyInvalid,
    `${name} is not a valid policy (${count}): ${named.join('; ')}${more}`,
    {
      details: { file: name, diagnostics },
    },
  );
}

/** A policy's identity: `sha256:` and the hex of its canonical JSON (the snapshot id). */
export function policyDigest(policy: Policy): string {
  return `sha256:${sha256Hex(canonicalPolicy(policy))}`;
}
