// The subject a runtime batch is about: a scan, an image, or a component at a version. The key is
// opaque to consumers: scanId if present, else imageDigest, else `component|version`, trimmed and
// lower-cased (spec §1.2 recommendation).
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
  let key: string | undefined;
  if (subject.scanId) key = subject.scanId;
  else if (subject.imageDigest) key = subject.imageDigest;
  else if (subject.component && subject.version) key = `${subject.component}|${subject.version}`;
  key = key?.trim().toLowerCase();
  if (!key) throw refuse(SUBJECT_REQUIRED);
  if (key.length > 512) throw refuse('subject key is longer than 512 characters');
  return key;
}
