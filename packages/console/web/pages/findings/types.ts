// The wire shapes the Findings page reads, as packages/findings/src/routes declare them.

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** One SBOM of GET /sboms. */
export interface SbomRecord {
  id: string;
  subjectKey: string;
  format: string;
  specVersion: string;
  components: number;
  root: { name: string; version: string | null; purl: string | null } | null;
  ingestedAt: string;
}

/** One finding of GET /findings. */
export interface StoredFinding {
  id: string;
  subjectKey: string;
  sbomId: string;
  purl: string;
  vulnerabilityId: string;
  severity: string;
  reachability: string;
  vexStatus: string;
  verdict: 'pass' | 'warn' | 'fail' | null;
  rule: string | null;
  snapshotId: string | null;
  evaluatedAt: string;
}

/** A source advisory of a finding, with the range of it that matched (findings scan/scan.ts). */
export interface FindingSource {
  recordId: string;
  vendor: string;
  upstreamId: string;
  contentHash: string;
  severity: { type: string; score: string }[];
  range: Record<string, string | undefined>;
  kev?: { dateAdded?: string };
  epss?: { score: number; percentile?: number };
}

/** A VEX statement that names the finding (findings evidence/model.ts). */
export interface VexStatement {
  recordId: string;
  vendor: string;
  issuer: string;
  vulnerabilityId: string;
  status: string;
  justification?: string;
  impact?: string;
  action?: string;
  product: string;
  timestamp?: string;
  pointer: string;
}

/** GET /findings/{id}: the finding with its evidence and the policy's decision. */
export interface FindingDocument {
  id: string;
  subjectKey: string;
  sbomId: string;
  component: { ref: string; purl: string; name: string; version: string; ecosystem: string };
  vulnerabilityId: string;
  aliases: string[];
  fixedVersions: string[];
  sources: FindingSource[];
  vex: VexStatement[];
  reachability: {
    state: string;
    lattice: string;
    /** Sink first, entrypoint last. */
    path: string[];
    fact?: { subjectKey: string; digest: string; factVersion: number };
    reason?: string;
  };
  severity: string;
  vexStatus: string;
  policy: {
    verdict: string;
    rule: string;
    exception?: string;
    expiredExceptions?: string[];
    kev?: boolean;
    epss?: number;
  } | null;
  snapshotId: string | null;
  evaluatedAt: string;
}
