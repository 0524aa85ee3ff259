// The key of a subject (what facts, SBOMs and findings are about): a scan, an image, or a component
// at a version. Opaque to consumers: scanId if present, else imageDigest, else `component|version`,
// trimmed and lower-cased (spec §1.2 recommendation). One derivation, so the SBOM of an image and
// the runtime facts about it meet under the same key.

export interface SubjectRef {
  scanId?: string | undefined;
  imageDigest?: string | undefined;
  component?: string | undefined;
  version?: string | undefined;
}

/** The subject's key, or undefined when it names nothing (no scanId, imageDigest or component+version). */
export function deriveSubjectKey(subject: SubjectRef): string | undefined {
  let key: string | undefined;
  if (subject.scanId?.trim()) key = subject.scanId;
  else if (subject.imageDigest?.trim()) key = subject.imageDigest;
  else if (subject.component?.trim() && subject.version?.trim()) key = `${subject.component}|${subject.version}`;
  return key?.trim().toLowerCase() || undefined;
}
