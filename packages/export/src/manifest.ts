// SPDX-License-Identifier: Apache-2.0
// export.json (schemas/export-manifest.schema.json, manifest/v1alpha2) and provenance.json (an
// in-toto Statement v1 with a SLSA v1 predicate). Neither carries a run id or a wall-clock time, so
// the same profile revision, selectors and data give the same bytes; the run that made a bundle is
// recorded on the run, not in it.

import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { canonicalDigest, canonicalJson } from '@stella/core';
import type { Selectors } from './selectors.ts';

export const MANIFEST_SCHEMA = 'https://stellaops.io/export-center/manifest/v1alpha2';
export const MANIFEST_VERSION = '1.1.0';
export const BUILDER_ID = 'https://stellaops.io/stella/export-center';

export interface ContentEntry {
  path: string;
  digest: string;
  bytes: number;
  records?: number;
  contentType?: string;
}

export interface ManifestInput {
  tenant: string;
  profile: { kind: string; variant: string; name: string; revision: string; digest: string };
  selectors: Selectors;
  generatedAt: string;
  contents: ContentEntry[];
  compression: { codec: string; level?: number; implementation: string };
  counts: Record<string, number>;
  distribution: string[];
  signing: { keyid: string; algorithm: string };
}

export function rerunHash(input: Pick<ManifestInput, 'profile' | 'selectors' | 'contents'>): string {
  return canonicalDigest({
    profile: input.profile.digest,
    selectors: input.selectors,
    contents: input.contents.map((c) => ({ path: c.path, digest: c.digest })),
  });
}

/** export.json bytes and the deterministic export id derived from the rerun hash. */
export function buildManifest(input: ManifestInput): { bytes: Buffer; exportId: string; rerunHash: string } {
  const hash = rerunHash(input);
  const exportId = `exp-${hash.slice('sha256:'.length, 'sha256:'.length + 24)}`;
  const { digest: _digest, ...profile } = input.profile;
  const doc = {
    schema: MANIFEST_SCHEMA,
    version: MANIFEST_VERSION,
    exportId,
    profile,
    tenant: input.tenant,
    selectors: input.selectors,
    generatedAt: input.generatedAt,
    rerunHash: hash,
    contents: [...input.contents].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path))),
    compression: input.compression,
    counts: input.counts,
    distribution: input.distribution,
    signing: input.signing,
  };
  return { bytes: Buffer.from(`${canonicalJson(doc)}\n`, 'utf8'), exportId, rerunHash: hash };
}

const PLACEHOLDER = '\u0000resolved-dependencies\u0000';

export interface ProvenanceInput {
  exportId: string;
  tenant: string;
  profile: ManifestInput['profile'];
  selectors: Selectors;
  compression: ManifestInput['compression'];
  subjects: { name: string; digest: string }[];
  /** One canonical JSON resource descriptor per line, already in order. */
  dependenciesFile: string;
  toolVersions: Record<string, string>;
}

/**
 * Writes provenance.json to `outFile` as canonical JSON without holding the dependency list in
 * memory: the statement is canonicalised with a placeholder array, then the placeholder is replaced
 * by the staged descriptors streamed line by line.
 */
export async function writeProvenance(input: ProvenanceInput, outFile: string): Promise<void> {
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [...input.subjects]
      .sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)))
      .map((s) => ({ name: s.name, digest: { sha256: s.digest.replace(/^sha256:/, '') } })),
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {
      buildDefinition: {
        buildType: `https://stellaops.io/export-center/${input.profile.kind}-${input.profile.variant}/v1`,
        externalParameters: {
          profile: { name: input.profile.name, revision: input.profile.revision, digest: input.profile.digest },
          selectors: input.selectors,
        },
        internalParameters: { tenant: input.tenant, compression: input.compression },
        resolvedDependencies: [PLACEHOLDER],
      },
      runDetails: {
        builder: { id: BUILDER_ID, version: input.toolVersions },
        metadata: { invocationId: input.exportId },
      },
    },
  };
  const text = canonicalJson(statement);
  const marker = JSON.stringify(PLACEHOLDER);
  const at = text.indexOf(marker);
  const out = createWriteStream(outFile);
  const write = async (chunk: string) => {
    if (!out.write(chunk)) await once(out, 'drain');
  };
  await write(text.slice(0, at));
  let first = true;
  const lines = createInterface({
    input: createReadStream(input.dependenciesFile),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  for await (const line of lines) {
    if (!line) continue;
    await write(first ? line : `,${line}`);
    first = false;
  }
  await write(`${text.slice(at + marker.length)}\n`);
  out.end();
  await once(out, 'finish');
}
