// SPDX-License-Identifier: Apache-2.0
// Which subject an SBOM is about, keyed as Signals keys its facts (deriveSubjectKey), so the SBOM of
// an image and the runtime facts about it meet. An explicit subject wins; else the document's root:
// its image digest when it is a container, else its package name and version.
import { deriveSubjectKey, StellaError, type SubjectRef } from '@stella/core';
import { FindingsErrors } from '../errors.ts';
import { isObject, text } from './json.ts';
import type { ParsedSbom } from './model.ts';

const OCI_DIGEST = /^pkg:oci\/[^@?#]+@(sha256(?::|%3a)[0-9a-f]{64})(?:[?#]|$)/i;

/** The sha256 digest a CycloneDX container root carries in its hashes, if any. */
function containerHashDigest(doc: unknown): string | undefined {
  if (!isObject(doc) || !isObject(doc.metadata) || !isObject(doc.metadata.component)) return undefined;
  const root = doc.metadata.component;
  if (root.type !== 'container' || !Array.isArray(root.hashes)) return undefined;
  for (const hash of root.hashes) {
    if (!isObject(hash)) continue;
    const content = text(hash.content);
    if (text(hash.alg)?.toUpperCase() === 'SHA-256' && content && /^[0-9a-f]{64}$/i.test(content))
      return `sha256:${content.toLowerCase()}`;
  }
  return undefined;
}

/** The image digest of a root that is a container: `pkg:oci/…@sha256:…`, or its sha256 hash. */
export function rootImageDigest(parsed: ParsedSbom, doc: unknown): string | undefined {
  const match = parsed.root?.purl ? OCI_DIGEST.exec(parsed.root.purl) : null;
  if (match) return match[1]!.replace(/%3a/i, ':').toLowerCase();
  return containerHashDigest(doc);
}

/** The subject key: the explicit subject if it names one, else the root's; none is a coded 400. */
export function sbomSubjectKey(explicit: SubjectRef, parsed: ParsedSbom, doc: unknown): string {
  const given = deriveSubjectKey(explicit);
  if (given) return given;
  const imageDigest = rootImageDigest(parsed, doc);
  const root = parsed.root;
  const derived = imageDigest
    ? deriveSubjectKey({ imageDigest })
    : deriveSubjectKey({ component: root?.packageName || root?.name, version: root?.version });
  if (derived) return derived;
  throw new StellaError(
    FindingsErrors.sbomSubjectRequired,
    root
      ? `the SBOM's root component ${JSON.stringify(root.name)} has no version and is not a container image: pass --image-digest, or --component and --version`
      : 'the SBOM names no root component: pass --image-digest, or --component and --version',
  );
}
