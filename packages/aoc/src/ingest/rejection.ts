// SPDX-License-Identifier: Apache-2.0
// A refused document as the ingest pipeline reports it (its error, every violation, where it came
// from), and the one coded error an all-or-nothing request answers with.
import { lookupError, StellaError } from '@stella/core';
import { AocErrors } from '../errors.ts';
import type { AocViolation } from './guard.ts';

export interface Rejected {
  ok: false;
  error: StellaError;
  violations: AocViolation[];
  vendor: string;
  location?: string | undefined;
}

/** A refusal: the error's own violations when it lists them, else the error as the one violation. */
export function rejectionOf(error: StellaError, vendor: string, location: string | undefined): Rejected {
  const violations = (error.details?.violations as AocViolation[] | undefined) ?? [
    { code: error.code, path: '', message: error.message },
  ];
  return { ok: false, error, violations, vendor, location };
}

/** The error to answer for rejected documents: the first one's, with every violation listed. */
export function rejectionError(rejected: readonly Rejected[]): StellaError {
  const first = rejected[0];
  if (!first) throw new Error('rejectionError needs a rejection');
  const violations = rejected.flatMap((r) => r.violations.map((v) => ({ ...v, location: r.location })));
  const def = lookupError(first.error.code) ?? AocErrors.malformedDocument;
  const message =
    rejected.length === 1
      ? first.error.message
      : `${rejected.length} documents rejected; first: ${first.error.message}`;
  return new StellaError(def, message, { details: { violations } });
}
