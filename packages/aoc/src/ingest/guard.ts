// SPDX-License-Identifier: Apache-2.0
// The AOC write guard (spec §3.1, §3.4): pure checks over the envelope a writer proposes, used by the
// ingest routes, the connectors and `stella sources ingest --dry-run`. It inspects our envelope and
// never the upstream body: GHSA's database_specific.severity inside content.raw is legal.
import { type ErrorDefinition, lookupError, StellaError, sha256Digest } from '@stella/core';
import { AocErrors } from '../errors.ts';
import {
  ALLOWED_SECTION_KEYS,
  ALLOWED_TOP_LEVEL,
  DERIVED_FINDING_KEYS,
  isForbiddenKey,
  pointerEscape,
} from './envelope.ts';

export interface AocViolation {
  code: string;
  /** JSON pointer into the envelope. */
  path: string;
  message: string;
}

export interface AocGuardOptions {
  /** Tenant of the request; an envelope naming another tenant is refused. */
  tenant: string;
  /** The upstream bytes, to check a declared content_hash. */
  bytes?: Uint8Array;
  /** Require provenance fields to be present in the proposal itself (the final envelope check). */
  requireProvenance?: boolean;
}

const RFC3339_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const HASH_RE = /^sha256:[0-9a-f]{64}$/;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function violation(def: ErrorDefinition, path: string, message: string): AocViolation {
  return { code: def.code, path, message };
}

function forbiddenKeys(value: unknown, path: string, out: AocViolation[]): void {
  if (path === '/content/raw') return;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      if (typeof item === 'object' && item !== null) forbiddenKeys(item, `${path}/${i}`, out);
    }
  } else if (isObject(value)) {
    for (const key of Object.keys(value)) {
      const child = value[key];
      const forbidden = isForbiddenKey(key);
      // Pointers are built only where they are needed: for a violation or to descend.
      if (!forbidden && (typeof child !== 'object' || child === null)) continue;
      const childPath = `${path}/${pointerEscape(key)}`;
      if (forbidden) {
        out.push(
          violation(
            AocErrors.forbiddenField,
            childPath,
            `forbidden field "${key}": derived values may not be written at ingest; upstream values stay inside content.raw`,
          ),
        );
      }
      forbiddenKeys(child, childPath, out);
    }
  }
}

function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.trim().length > 0;
}

/** Keys only the policy engine may write (006), anywhere-forbidden keys (001), unknown keys (007). */
function checkKeys(proposal: Json, out: AocViolation[]): void {
  for (const key of Object.keys(proposal)) {
    if (DERIVED_FINDING_KEYS.has(key)) {
      out.push(
        violation(
          AocErrors.derivedFindings,
          `/${pointerEscape(key)}`,
          `"${key}" may only be written by the policy engine`,
        ),
      );
    }
  }
  forbiddenKeys(proposal, '', out);
  for (const key of Object.keys(proposal)) {
    if (!ALLOWED_TOP_LEVEL.has(key) && !isForbiddenKey(key) && !DERIVED_FINDING_KEYS.has(key)) {
      out.push(violation(AocErrors.unknownField, `/${pointerEscape(key)}`, `unknown top-level field "${key}"`));
    }
  }
  for (const [section, allowed] of Object.entries(ALLOWED_SECTION_KEYS)) {
    const value = section.split('/').reduce<unknown>((v, k) => (isObject(v) ? v[k] : undefined), proposal);
    if (!isObject(value)) continue;
    for (const key of Object.keys(value)) {
      if (!allowed.has(key) && !isForbiddenKey(key)) {
        out.push(
          violation(
            AocErrors.unknownField,
            `/${section}/${pointerEscape(key)}`,
            `unknown field "${key}" in ${section}`,
          ),
        );
      }
    }
  }
}

/** One record holds exactly one upstream document (002), in the request's tenant. */
function checkOneDocument(proposal: Json, tenant: string, out: AocViolation[]): void {
  for (const section of ['source', 'upstream'] as const) {
    if (Array.isArray(proposal[section])) {
      out.push(
        violation(
          AocErrors.mergeAttempt,
          `/${section}`,
          `${section} is a list: one record holds exactly one upstream document`,
        ),
      );
    }
  }
  const content = proposal.content;
  if (isObject(content) && Array.isArray(content.raw)) {
    out.push(
      violation(AocErrors.mergeAttempt, '/content/raw', 'content.raw is a list of documents: ingest each on its own'),
    );
  }
  if (proposal.tenant !== undefined && proposal.tenant !== tenant) {
    out.push(
      violation(
        AocErrors.tenantMismatch,
        '/tenant',
        `envelope tenant ${JSON.stringify(proposal.tenant)} differs from the request tenant "${tenant}"`,
      ),
    );
  }
}

/** Provenance (004): source, and with requireProvenance the upstream fields the final envelope needs. */
function checkSource(proposal: Json, options: AocGuardOptions, out: AocViolation[]): void {
  const source = proposal.source;
  if (!isObject(source)) {
    if (!Array.isArray(source)) out.push(violation(AocErrors.missingProvenance, '/source', 'source is required'));
    return;
  }
  const required = options.requireProvenance ? ['vendor', 'connector', 'version'] : ['vendor'];
  for (const key of required) {
    if (!nonEmptyString(source[key])) {
      out.push(violation(AocErrors.missingProvenance, `/source/${key}`, `source.${key} is required`));
    }
  }
}

/** Upstream provenance (004) and a declared content hash that matches the bytes (005). */
function checkUpstream(proposal: Json, options: AocGuardOptions, out: AocViolation[]): void {
  const upstream = proposal.upstream;
  if (!isObject(upstream)) {
    if ((options.requireProvenance || upstream !== undefined) && !Array.isArray(upstream)) {
      out.push(violation(AocErrors.missingProvenance, '/upstream', 'upstream is required'));
    }
    return;
  }
  if (options.requireProvenance) {
    for (const key of ['upstream_id', 'retrieved_at', 'content_hash']) {
      if (!nonEmptyString(upstream[key])) {
        out.push(violation(AocErrors.missingProvenance, `/upstream/${key}`, `upstream.${key} is required`));
      }
    }
    if (!isObject(upstream.signature) || typeof upstream.signature.present !== 'boolean') {
      out.push(violation(AocErrors.missingProvenance, '/upstream/signature', 'upstream.signature.present is required'));
    }
  }
  if (
    upstream.retrieved_at !== undefined &&
    !(typeof upstream.retrieved_at === 'string' && RFC3339_RE.test(upstream.retrieved_at))
  ) {
    out.push(
      violation(AocErrors.missingProvenance, '/upstream/retrieved_at', 'retrieved_at must be an RFC 3339 timestamp'),
    );
  }
  checkContentHash(upstream.content_hash, options.bytes, out);
}

function checkContentHash(declared: unknown, bytes: Uint8Array | undefined, out: AocViolation[]): void {
  if (declared === undefined) return;
  if (typeof declared !== 'string' || !HASH_RE.test(declared)) {
    out.push(
      violation(
        AocErrors.signatureMismatch,
        '/upstream/content_hash',
        'content_hash must be sha256:<64 lowercase hex>',
      ),
    );
  } else if (bytes && sha256Digest(bytes) !== declared) {
    out.push(
      violation(
        AocErrors.signatureMismatch,
        '/upstream/content_hash',
        `content_hash ${declared} does not match the document bytes (${sha256Digest(bytes)})`,
      ),
    );
  }
}

/** Every violation of the proposal, in a stable order: 006, 001, 007, 002, tenant, 004, 005. */
export function guardEnvelope(proposal: unknown, options: AocGuardOptions): AocViolation[] {
  if (!isObject(proposal)) {
    return [violation(AocErrors.missingProvenance, '', 'the envelope must be a JSON object')];
  }
  const out: AocViolation[] = [];
  checkKeys(proposal, out);
  checkOneDocument(proposal, options.tenant, out);
  checkSource(proposal, options, out);
  checkUpstream(proposal, options, out);
  return out;
}

/** The problem to answer for a non-empty violation list: the first violation's code, all of them listed. */
export function violationError(violations: readonly AocViolation[]): StellaError {
  const first = violations[0];
  if (!first) throw new Error('violationError needs at least one violation');
  // AOC codes and the platform's input caps (ERR_LIMIT_*, ERR_INVALID_TEXT) share the one registry.
  const def = lookupError(first.code) ?? AocErrors.missingProvenance;
  const summary = violations.length === 1 ? first.message : `${first.message} (and ${violations.length - 1} more)`;
  return new StellaError(def, summary, { details: { violations } });
}
