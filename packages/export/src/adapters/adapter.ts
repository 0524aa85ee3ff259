// SPDX-License-Identifier: Apache-2.0
// The seam between a run and the format it produces. The worker owns everything every bundle shares
// (export.json, provenance.json, signatures, tar, self-check, CAS, distribution); an adapter owns
// only which records a profile selects and the files it stages for them. Adding a format is one file
// implementing ExportAdapter, listed in registry.ts.
import type { Db, PlatformSigner, SigningAlgorithm } from '@stella/platform';
import type { ExportConfig } from '../config.ts';
import type { ExportProfile } from '../profiles/schema.ts';
import type { Selectors } from '../selectors.ts';

export interface ExportAdapter {
  /** With `variant`, what a profile names to pick this adapter; the registry key `kind:variant` is also the run's profile_kind label. */
  readonly kind: ProfileKind;
  /** Kinds have several formats (trivy db/java-db, mirror full/delta), each its own adapter. */
  readonly variant: ProfileVariant;
  /**
   * Set when every run of this format is evaluated under a policy snapshot (json:policy): submission
   * then falls back to the tenant's active snapshot when none is given, and refuses when there is none.
   */
  readonly needsPolicySnapshot?: true;
  /**
   * Where its data files are staged (`data/`; `trivy/` for Trivy's DB): what profile encryption
   * mode `aes-gcm` encrypts file by file. Everything else (manifests, indexes, trust files) stays
   * readable, so a bundle's signatures and trust can be checked before it is decrypted.
   */
  readonly payloadPrefix: string;
  /** Set when a run is built against a base export (mirror:delta): submission resolves one or refuses with ERR_EXPORT_BASE_MISSING. */
  readonly needsBase?: true;
  /**
   * What of a stored profile this adapter cannot honour yet, checked at submission so a run that
   * would come out silently wrong (unencrypted, families missing) is refused with ERR_EXPORT_001
   * before it is queued or counted against the quota. Empty when the profile can be built.
   */
  refuse(profile: ExportProfile, selectors: Selectors): ProfileProblem[];
  /** Counts the selection before anything is written: an empty run is refused cheaply, and progress has a total. */
  select(input: AdapterInput): Promise<Selection>;
  /**
   * Writes the bundle's payload into the staging directory and says what the manifests must
   * record of it. Deterministic, because the bundle digest is the proof of a replay: the same rows
   * give the same bytes, in the same file order.
   */
  serialise(context: SerialiseContext, selection: Selection): Promise<AdapterOutput>;
}

export type ProfileKind = ExportProfile['spec']['kind'];
export type ProfileVariant = ExportProfile['spec']['variant'];

/** One reason a profile cannot be built, at a JSON pointer, so the caller can fix every one at once. */
export interface ProfileProblem {
  pointer: string;
  message: string;
}

/** What an adapter reads a run from: the profile revision the run was submitted with and its stored (absolute) selectors. */
export interface AdapterInput {
  db: Db;
  tenant: string;
  profile: ExportProfile;
  selectors: Selectors;
  /** The run's policy snapshot id (checked to exist for the tenant at submission); null when it has none. */
  policySnapshotId: string | null;
  /** The base export of a mirror:delta run (resolved at submission); null for other kinds. */
  baseExportId: string | null;
}

/** The base export a delta is built against, as the worker found it in CAS. */
export interface BaseExport {
  exportId: string;
  /** `sha256:` of its export.json. */
  manifestDigest: string;
  /** Its bundle file, fetched from CAS into the staging directory. */
  bundlePath: string;
}

export interface Selection {
  /** The progress total; 0 fails the run with ERR_EXPORT_EMPTY unless it was submitted with allowEmpty. */
  total: number;
  /** Named in the ERR_EXPORT_EMPTY message, so the operator knows which selection to widen. */
  families: readonly string[];
}

export interface SerialiseContext extends AdapterInput {
  /** SOURCE_DATE_EPOCH when set: the time a format that records one inside its files uses instead of its data time. */
  fixedTime: Date | undefined;
  /** The Export Center's configuration (the mirror adapter reads its signing and TUF settings). */
  config: ExportConfig;
  /** The tenant's platform key of a purpose, made on first use (mirror bundles sign with `mirror`). */
  platformSigner(purpose: string, algorithm: SigningAlgorithm): Promise<PlatformSigner>;
  /** Fetches the run's base export (mirror:delta); ERR_EXPORT_BASE_MISSING when it is no longer stored. */
  loadBase(): Promise<BaseExport>;
  /** Private to this attempt and removed after it: a killed worker leaves nothing visible. */
  stagingDir: string;
  /** Records per database page: bounds memory while keeping round trips few. */
  pageSize: number;
  /** Call once per page: it stores progress (rate-limited) and throws when the run was cancelled, so a cancel stops the run mid-data. */
  progress(itemsCompleted: number, itemsTotal: number): Promise<void>;
}

/** What serialise staged, and what of it the worker records in export.json and provenance.json. */
export interface AdapterOutput {
  /**
   * Everything the adapter adds to the bundle; each file also becomes an export.json `contents`
   * entry, a checksums.txt line and a provenance subject. The rerun hash (and so the export id) is
   * computed over `contents` in this order, so the order must be stable.
   */
  files: StagedFile[];
  /** export.json `counts`, per data file: files that describe the export (materials) hold no records of their own. */
  counts: Record<string, number>;
  /**
   * The file among `files` that lists every exported record with its digest. provenance.json names
   * this one file as its resolved dependency, instead of every record, so the statement (and its
   * DSSE envelope) stays small at any size.
   */
  materials: { path: string; digest: string; records: number };
  /** The run's `records` and its final progress. */
  records: number;
  /** The bundle's mtime and `generatedAt` (unless SOURCE_DATE_EPOCH is set): data time, never the wall clock, so a replay gives the same bytes. */
  newest: string | undefined;
  /**
   * Staged files that also get a detached signature under signatures/ (ECDSA P-256 over SHA-256, DER,
   * base64: what `cosign verify-blob --key` and `openssl dgst -sha256 -verify` check), e.g. Trivy's
   * db.bundle. export.json names the signature beside its file, so `stella export verify` checks it.
   */
  detachedSignatures?: readonly DetachedSignature[];
  /** What the `oci` distribution pushes instead of the bundle, when the format has an artifact of its own (Trivy's DB). */
  ociArtifact?: AdapterOciArtifact;
  /** export.json `delta` of a delta bundle: its base, and the base's records it removes. Part of the rerun hash. */
  delta?: DeltaRecord;
  /** The archive's file name without extension (`mirror-20261203-full`); `<profile>-<exportId>` otherwise. */
  fileStem?: string;
}

export interface DeltaRecord {
  baseExportId: string;
  baseManifestDigest: string;
  /** Records of the base that are no longer heads here, each with the record that superseded it when one did. */
  tombstones: { id: string; store: string; supersededBy?: string }[];
}

export interface DetachedSignature {
  /** The signature's member name, under `signatures/`. */
  path: string;
  /** The staged file it signs (a `files[].path`). */
  of: string;
}

/** An OCI artifact made of staged files, pushed under each tag to the profile's repository. */
export interface AdapterOciArtifact {
  artifactType: string;
  layers: readonly { of: string; mediaType: string; title: string }[];
  /** Tags to push, e.g. Trivy's schema version `2` beside the export id. */
  tags: readonly string[];
  /** The `org.opencontainers.image.created` annotation: a data time, never the wall clock. */
  created: string;
}

/** A file staged on disk and hashed while it was written: memory stays flat whatever its size. */
export interface StagedFile {
  /** Member name inside the bundle, e.g. `data/raw/advisories.jsonl`. */
  path: string;
  /** Where it is staged, streamed into the archive and never read whole. */
  file: string;
  size: number;
  digest: string;
  records: number;
  contentType: string;
}
