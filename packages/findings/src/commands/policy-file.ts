// SPDX-License-Identifier: Apache-2.0
// Reading a policy file for the commands that use one (lint, publish, scan --policy, simulate), and
// the --at evaluation time they share.
import { readFileSync } from 'node:fs';
import { Errors, StellaError } from '@stella/core';
import type { Policy } from '../policy/index.ts';
import { parsePolicy } from '../policy/index.ts';
import { policyDigest, policyInvalid } from '../policy/invalid.ts';

export interface LoadedPolicy {
  policy: Policy;
  /** `sha256:` + hex of canonicalPolicy(policy): the snapshot's identity. */
  digest: string;
  text: string;
}

export function readPolicyText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new StellaError(Errors.fileNotFound, `${path}: ${(error as Error).message}`, { cause: error });
  }
}

/** Reads and parses a policy file; throws ERR_POLICY_INVALID (exit 2) naming the first errors, ERR_FILE_NOT_FOUND when unreadable. */
export function loadPolicyFile(path: string, now: Date): LoadedPolicy {
  const text = readPolicyText(path);
  const { policy, diagnostics } = parsePolicy(text, { now });
  if (!policy) throw policyInvalid(path, diagnostics);
  return { policy, digest: policyDigest(policy), text };
}

/** The evaluation time of --at (an ISO 8601 date or time), else now. */
export function evaluationTime(at: string | undefined): Date {
  if (at === undefined) return new Date();
  const time = Date.parse(at);
  if (!/^\d{4}-\d{2}-\d{2}/.test(at) || Number.isNaN(time))
    throw new StellaError(
      Errors.usage,
      `--at must be an ISO 8601 date or time (2027-01-31, 2027-01-31T12:00:00Z), not "${at}"`,
    );
  return new Date(time);
}
