// SPDX-License-Identifier: Apache-2.0
// Validation against the official JSON schemas, to annotate and never to reject: real upstream
// documents fail their own schemas (a trailing '/' in a CVSS vector, OpenVEX 0.0.1 shapes, a
// Chainguard `supplier`), and AOC stores them verbatim anyway. Schemas ship in ./schemas (see the
// LICENSE files there) and are compiled once, on first use.
import { readFileSync } from 'node:fs';
import type { AnySchemaObject, ValidateFunction } from 'ajv';
import { Ajv } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';
import type { ContentFormat, SchemaAnnotation } from './types.ts';

const MAX_ERRORS = 20;

type SchemaName = 'osv' | 'csaf-2.0' | 'openvex' | 'cyclonedx-1.6';

function loadSchema(relative: string): AnySchemaObject {
  return JSON.parse(readFileSync(new URL(`./schemas/${relative}`, import.meta.url), 'utf8')) as AnySchemaObject;
}

/** Formats used by the schemas that ajv-formats does not define; accepted as any string. */
const LENIENT_FORMATS = ['iri', 'iri-reference', 'idn-email'];

function newAjv(draft: '2020-12' | 'draft-07'): Ajv {
  const options = { strict: false, allErrors: false, logger: false as const };
  const ajv = draft === '2020-12' ? new Ajv2020(options) : new Ajv(options);
  formats.default(ajv);
  for (const name of LENIENT_FORMATS) ajv.addFormat(name, true);
  return ajv;
}

function compile(name: SchemaName): ValidateFunction {
  switch (name) {
    case 'osv':
      return newAjv('2020-12').compile(loadSchema('osv/schema.json'));
    case 'openvex':
      return newAjv('2020-12').compile(loadSchema('openvex/openvex_json_schema.json'));
    case 'csaf-2.0': {
      const ajv = newAjv('2020-12');
      // The FIRST CVSS schemas are draft-04/07; registered under the URLs CSAF refers to, with
      // their own $schema/$id removed so the 2020-12 instance accepts them.
      for (const version of ['2.0', '3.0', '3.1']) {
        const {
          $schema: _schema,
          $id: _id,
          id: _draft04Id,
          ...cvss
        } = loadSchema(`csaf-2.0/first/cvss-v${version}.json`);
        ajv.addSchema(cvss, `https://www.first.org/cvss/cvss-v${version}.json`);
      }
      return ajv.compile(loadSchema('csaf-2.0/csaf_json_schema.json'));
    }
    case 'cyclonedx-1.6': {
      const ajv = newAjv('draft-07');
      ajv.addSchema(loadSchema('cyclonedx-1.6/spdx.schema.json'));
      ajv.addSchema(loadSchema('cyclonedx-1.6/jsf-0.82.schema.json'));
      return ajv.compile(loadSchema('cyclonedx-1.6/bom-1.6.schema.json'));
    }
  }
}

const compiled = new Map<SchemaName, ValidateFunction>();

function validatorFor(name: SchemaName): ValidateFunction {
  let validate = compiled.get(name);
  if (validate === undefined) {
    validate = compile(name);
    compiled.set(name, validate);
  }
  return validate;
}

/**
 * Which bundled schema applies. CSAF 2.1 has no bundled schema yet; CVE 5 and NVD are not
 * validated (their schemas are large and add nothing the linkset needs). CycloneDX 1.4/1.5 VEX
 * validate against 1.6, which accepts them; OpenVEX 0.0.1 documents are checked against the only
 * published schema (0.2.0) and fail, which is the point of the annotation.
 */
function schemaNameFor(format: ContentFormat, specVersion: string): SchemaName | null {
  switch (format) {
    case 'OSV':
      return 'osv';
    case 'CSAF':
    case 'CSAF_VEX':
      return specVersion === '2.0' ? 'csaf-2.0' : null;
    case 'OPENVEX':
      return 'openvex';
    case 'CYCLONEDX_VEX':
      return 'cyclonedx-1.6';
    case 'CVE5':
    case 'NVD':
      return null;
  }
}

export function validateSchema(format: ContentFormat, specVersion: string, doc: unknown): SchemaAnnotation {
  const name = schemaNameFor(format, specVersion);
  if (name === null) return { schema: null, valid: null, errors: [] };
  const validate = validatorFor(name);
  if (validate(doc)) return { schema: name, valid: true, errors: [] };
  const errors = (validate.errors ?? []).slice(0, MAX_ERRORS).map((error) => ({
    pointer: error.instancePath,
    message: error.message ?? error.keyword,
  }));
  return { schema: name, valid: false, errors };
}
