// SPDX-License-Identifier: Apache-2.0
// Which statements speak about a finding: its component (by purl, or by CPE) and its vulnerability
// (its id or any alias). Rules, chosen so that a statement never reaches a package it did not name:
//  - a product purl without a version names every version of the package; with one, that version only
//    (compared as written after purl decoding: `1.0` and `1.0.0` differ);
//  - type, namespace and name compare in packageurl-js's canonical form; qualifiers are ignored unless
//    both sides carry the same key with different values (arch=x86_64 never reaches arch=aarch64, but a
//    statement without arch names every arch); subpaths are ignored;
//  - a product CPE matches the component's CPE on part, vendor, product and version (cpe.ts);
//  - ids compare exactly, except CVE and GHSA ids, which compare case-insensitively.
import { PackageURL } from 'packageurl-js';
import type { VexStatement } from '../evidence/model.ts';
import { cpeMatches } from './cpe.ts';

export interface VexComponent {
  purl: string;
  /** The component's version when its purl has none (an SBOM's version field). */
  version?: string;
  cpe?: string;
}

export interface VexVulnerability {
  id: string;
  aliases: string[];
}

function parsePurl(text: string): PackageURL | undefined {
  try {
    return PackageURL.fromString(text.trim());
  } catch {
    return undefined;
  }
}

function qualifiersAgree(a: PackageURL, b: PackageURL): boolean {
  const left = a.qualifiers ?? {};
  const right = b.qualifiers ?? {};
  return Object.keys(left).every((key) => right[key] === undefined || right[key] === left[key]);
}

/** Whether a statement's product purl names the component. */
export function purlApplies(product: string, component: VexComponent): boolean {
  const stated = parsePurl(product);
  const actual = parsePurl(component.purl);
  if (stated === undefined || actual === undefined) return false;
  if (stated.type !== actual.type || (stated.namespace ?? '') !== (actual.namespace ?? '')) return false;
  if (stated.name !== actual.name) return false;
  if (stated.version) {
    const version = actual.version || component.version;
    if (version !== stated.version) return false;
  }
  return qualifiersAgree(stated, actual);
}

const CASE_FREE_ID = /^(CVE-\d{4}-\d{4,}|GHSA(-[23456789cfghjmpqrvwx]{4}){3})$/i;

function idKey(id: string): string {
  const trimmed = id.trim();
  return CASE_FREE_ID.test(trimmed) ? trimmed.toUpperCase() : trimmed;
}

function productApplies(product: string, component: VexComponent): boolean {
  if (/^cpe:/i.test(product)) return component.cpe !== undefined && cpeMatches(product, component.cpe);
  return purlApplies(product, component);
}

/**
 * The statements about this component and vulnerability, in the order given. A statement read once
 * per alias (product.ts `expand`) is kept once: the first spelling that matches.
 */
export function applicableStatements(
  statements: readonly VexStatement[],
  component: VexComponent,
  vulnerability: VexVulnerability,
): VexStatement[] {
  const ids = new Set([vulnerability.id, ...vulnerability.aliases].map(idKey));
  const seen = new Set<string>();
  const out: VexStatement[] = [];
  for (const statement of statements) {
    if (!ids.has(idKey(statement.vulnerabilityId))) continue;
    if (!productApplies(statement.product, component)) continue;
    const key = `${statement.recordId}\u0000${statement.pointer}\u0000${statement.product}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(statement);
  }
  return out;
}
