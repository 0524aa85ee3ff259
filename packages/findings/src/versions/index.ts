// SPDX-License-Identifier: Apache-2.0
// The version comparators by OSV ecosystem: compare, check, sort. Every version is parsed by its
// ecosystem's own rules first; one that does not parse is a coded ERR_VERSION_UNPARSEABLE naming the
// rule it breaks, so a caller reports it instead of matching on a guess.
import { StellaError } from '@stella/core';
import { FindingsErrors } from '../errors.ts';
import { ECOSYSTEMS, type Ecosystem, findEcosystem } from './ecosystems.ts';
import { checkCommon, type Ordering, type VersionScheme, VersionSyntaxError } from './scheme.ts';

export type { Ordering } from './scheme.ts';

export interface VersionComparator {
  /** The OSV name of the ecosystem the comparator was made for. */
  readonly ecosystem: string;
  compare(a: string, b: string): Ordering;
  /** Throws ERR_VERSION_UNPARSEABLE when the version does not parse. */
  check(version: string): void;
  /** Ascending (or descending) by the ecosystem's order; equal versions keep their input order. */
  sort(versions: readonly string[], options?: { descending?: boolean }): string[];
}

export interface EcosystemDescription {
  name: string;
  aliases: string[];
  /** Whether `Name:release` is accepted (Debian:12, Alpine:v3.18). */
  releaseSuffix: boolean;
  scheme: string;
  rule: string;
}

// Versions are echoed in messages; a hostile one must not flood a terminal or a log line.
const SHOWN_CHARS = 80;
const shown = (text: string) => JSON.stringify(text.length > SHOWN_CHARS ? `${text.slice(0, SHOWN_CHARS)}…` : text);

function resolve(name: string): Ecosystem {
  const ecosystem = findEcosystem(name);
  if (ecosystem) return ecosystem;
  throw new StellaError(
    FindingsErrors.ecosystemUnknown,
    `unknown ecosystem ${shown(name)}; supported: ${ECOSYSTEMS.map((e) => e.name).join(', ')}`,
    { details: { ecosystem: name, supported: ECOSYSTEMS.map((e) => e.name) } },
  );
}

function bind<T>(ecosystem: string, scheme: VersionScheme<T>): VersionComparator {
  const parse = (version: string): T => {
    try {
      checkCommon(version);
      return scheme.parse(version);
    } catch (error) {
      if (!(error instanceof VersionSyntaxError)) throw error;
      throw new StellaError(
        FindingsErrors.versionUnparseable,
        `${ecosystem} version ${shown(version)} cannot be parsed: ${error.message}`,
        { cause: error, details: { ecosystem, version: version.slice(0, SHOWN_CHARS), reason: error.message } },
      );
    }
  };
  return {
    ecosystem,
    compare: (a, b) => scheme.compare(parse(a), parse(b)),
    check: (version) => void parse(version),
    sort(versions, options = {}) {
      // Parse each version once; a stable sort keeps equal versions (1.0 and 1.0.0) in input order.
      const parsed = versions.map((text) => ({ text, version: parse(text) }));
      const direction = options.descending ? -1 : 1;
      parsed.sort((x, y) => direction * scheme.compare(x.version, y.version));
      return parsed.map((p) => p.text);
    },
  };
}

/** A comparator for one ecosystem; throws ERR_VERSION_ECOSYSTEM_UNKNOWN for a name it does not know. */
export function versionComparator(ecosystem: string): VersionComparator {
  const found = resolve(ecosystem);
  return found.scheme.use((scheme) => bind(found.name, scheme));
}

/** -1, 0 or 1 as `a` sorts before, with or after `b` in the ecosystem's order. */
export function compareVersions(ecosystem: string, a: string, b: string): Ordering {
  return versionComparator(ecosystem).compare(a, b);
}

/** Throws the coded error when `version` is not a version of `ecosystem`. */
export function checkVersion(ecosystem: string, version: string): void {
  versionComparator(ecosystem).check(version);
}

export function isSupportedEcosystem(ecosystem: string): boolean {
  return findEcosystem(ecosystem) !== undefined;
}

export function supportedEcosystems(): EcosystemDescription[] {
  return ECOSYSTEMS.map((e) => ({
    name: e.name,
    aliases: [...e.aliases],
    releaseSuffix: e.releaseSuffix,
    scheme: e.scheme.id,
    rule: e.scheme.rule,
  }));
}
