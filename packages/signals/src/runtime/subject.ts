// The subject a runtime batch is about: a scan, an image, or a component at a version. The key is
// @stella/core's deriveSubjectKey, shared with the SBOMs and findings about the same subject.
import { deriveSubjectKey } from '@stella/core';
import { assertStorableMembers } from '../text.ts';
import { refuse } from './events.ts';

export interface Subject {
  scanId?: string;
  imageDigest?: string;
  component?: string;
  version?: string;
}

export const SUBJECT_REQUIRED = 'Subject must include scanId/imageDigest/component+version';

/** The subject members of a query, body or flags: non-empty strings, trimmed. */
export function pickSubject(source: { readonly [K in keyof Subject]?: unknown } | undefined): Subject {
  const out: Subject = {};
  for (const key of ['scanId', 'imageDigest', 'component', 'version'] as const) {
    const v = source?.[key];
    if (typeof v === 'string' && v.trim() !== '') out[key] = v.trim();
  }
  return out;
}

export function subjectKeyOf(subject: Subject): string {
  assertStorableMembers(subject as Record<string, unknown>, 'subject');
  const key = deriveSubjectKey(subject);
  if (!key) throw refuse(SUBJECT_REQUIRED);
  if (key.length > 512) throw refuse('subject key is longer than 512 characters');
  return key;
}
