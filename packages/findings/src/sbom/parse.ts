// SPDX-License-Identifier: Apache-2.0
// One entry point for SBOM documents: decide the format from the document's own markers
// (CycloneDX `bomFormat`/`specVersion`, SPDX `spdxVersion`), read it, and assemble the components
// and edges. A document that is neither, or of a version stella does not read, is refused with a
// coded error naming what it found; everything short of that is read and its issues reported.
import { StellaError } from '@stella/core';
import { FindingsErrors } from '../errors.ts';
import { assemble } from './assemble.ts';
import { CYCLONEDX_VERSIONS, readCycloneDx } from './cyclonedx.ts';
import { isObject, text } from './json.ts';
import type { ParsedSbom } from './model.ts';
import { readSpdx, SPDX_VERSIONS } from './spdx.ts';

const SUPPORTED = `CycloneDX JSON ${CYCLONEDX_VERSIONS.join(', ')} or SPDX JSON ${SPDX_VERSIONS.map((v) => v.slice(5)).join(', ')}`;

function unsupported(what: string): StellaError {
  return new StellaError(FindingsErrors.sbomUnsupported, `${what}; stella reads ${SUPPORTED}`);
}

/** Reads a parsed SBOM document (JSON.parse'd, within the JSON limits). */
export function parseSbom(doc: unknown): ParsedSbom {
  if (!isObject(doc)) throw unsupported('the document is not a JSON object');
  if (doc.bomFormat !== undefined) {
    if (doc.bomFormat !== 'CycloneDX') throw unsupported(`bomFormat ${JSON.stringify(doc.bomFormat)} is not CycloneDX`);
    const version = text(doc.specVersion);
    if (!version || !(CYCLONEDX_VERSIONS as readonly string[]).includes(version))
      throw unsupported(`CycloneDX specVersion ${JSON.stringify(doc.specVersion ?? null)}`);
    if (doc.components !== undefined && !Array.isArray(doc.components))
      throw new StellaError(FindingsErrors.sbomInvalid, 'CycloneDX components must be an array');
    return assemble(readCycloneDx(doc, version));
  }
  if (doc.spdxVersion !== undefined) {
    const version = text(doc.spdxVersion);
    if (!version || !(SPDX_VERSIONS as readonly string[]).includes(version))
      throw unsupported(`spdxVersion ${JSON.stringify(doc.spdxVersion)}`);
    if (doc.packages !== undefined && !Array.isArray(doc.packages))
      throw new StellaError(FindingsErrors.sbomInvalid, 'SPDX packages must be an array');
    return assemble(readSpdx(doc, version));
  }
  throw unsupported('the document has neither bomFormat (CycloneDX) nor spdxVersion (SPDX)');
}
