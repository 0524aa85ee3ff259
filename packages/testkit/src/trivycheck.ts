// SPDX-License-Identifier: Apache-2.0
// Typed wrappers around tools/trivycheck, the independent Go reader of exported trivy.db files:
// `check` (structure and strict decoding of every value), `lookup` (Trivy's library-detector read of
// every "<ecosystem>::" bucket) and `os` (one OS bucket). A failed check rejects with TrivyCheckError,
// whose `problems` are the tool's stderr lines, so negative tests can assert on the reason.
import { runGoTool } from './go-tools.ts';

export interface TrivyCounts {
  buckets: number;
  packages: number;
  advisories: number;
  vulnerabilities: number;
  dataSources: number;
}

/** trivy-db's DataSource, as Go encodes it (empty fields omitted). */
export interface TrivyDataSource {
  ID: string;
  Name: string;
  URL?: string;
  BaseID?: string;
}

/** trivy-db's Advisory in its DB form: Status is the integer index. */
export interface TrivyAdvisory {
  VulnerabilityID?: string;
  VendorIDs?: string[];
  OSes?: string[];
  Arches?: string[];
  Severity?: number;
  FixedVersion?: string;
  AffectedVersion?: string;
  VulnerableVersions?: string[];
  PatchedVersions?: string[];
  UnaffectedVersions?: string[];
  DataSource?: TrivyDataSource;
  Custom?: unknown;
  Status?: number;
}

export interface TrivyCvss {
  V2Vector?: string;
  V3Vector?: string;
  V40Vector?: string;
  V2Score?: number;
  V3Score?: number;
  V40Score?: number;
}

/** trivy-db's Vulnerability; dates come back as Go formats them (RFC 3339). */
export interface TrivyVulnerability {
  Title?: string;
  Description?: string;
  Severity?: string;
  CweIDs?: string[];
  VendorSeverity?: Record<string, number>;
  CVSS?: Record<string, TrivyCvss>;
  References?: string[];
  PublishedDate?: string;
  LastModifiedDate?: string;
  Custom?: unknown;
}

export interface TrivyFinding {
  bucket: string;
  vulnerabilityId: string;
  advisory: TrivyAdvisory;
  dataSource: TrivyDataSource | null;
  vulnerability: TrivyVulnerability | null;
  /** A later "<ecosystem>::" bucket with the same id for this package: Trivy keeps only that one. */
  shadowedBy?: string;
}

/** The Go tool found problems (exit 1): `problems` holds one line per problem, without the summary line. */
export class TrivyCheckError extends Error {
  readonly args: readonly string[];
  readonly stderr: string;
  readonly problems: string[];
  constructor(args: readonly string[], stderr: string) {
    super(`trivycheck ${args.join(' ')} failed:\n${stderr}`);
    this.name = 'TrivyCheckError';
    this.args = args;
    this.stderr = stderr;
    this.problems = stderr
      .trimEnd()
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('trivycheck: '));
  }
}

async function trivycheck(args: string[]): Promise<unknown> {
  const { stdout, stderr, code } = await runGoTool('trivycheck', args);
  if (code === 1) throw new TrivyCheckError(args, stderr);
  if (code !== 0) throw new Error(`trivycheck ${args.join(' ')} exited ${code}: ${stderr}`);
  return JSON.parse(stdout);
}

export function trivyCheck(dbPath: string): Promise<TrivyCounts> {
  return trivycheck(['check', dbPath]) as Promise<TrivyCounts>;
}

/** Trivy's library lookup: `pkg` must already be normalised (trivy-db's NormalizePkgName). */
export function trivyLookup(dbPath: string, ecosystem: string, pkg: string): Promise<TrivyFinding[]> {
  return trivycheck(['lookup', dbPath, ecosystem, pkg]) as Promise<TrivyFinding[]>;
}

export function trivyOsLookup(dbPath: string, bucket: string, pkg: string): Promise<TrivyFinding[]> {
  return trivycheck(['os', dbPath, bucket, pkg]) as Promise<TrivyFinding[]>;
}

/** The failure of a check expected to fail: its TrivyCheckError (problem lines); throws if the check passed. */
export async function trivyCheckFailure(dbPath: string): Promise<TrivyCheckError> {
  try {
    const counts = await trivyCheck(dbPath);
    throw new Error(`trivycheck check ${dbPath} passed, expected problems: ${JSON.stringify(counts)}`);
  } catch (error) {
    if (error instanceof TrivyCheckError) return error;
    throw error;
  }
}
