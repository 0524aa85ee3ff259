// The offline bundle checks (seed 000 §3), pure: the manifest parsed from its bytes, every listed
// hash against the digests the import measured, the DSSE envelope against local trust roots and
// the trace's digest, and the time anchor against the staleness budget. No I/O: a refusal is
// returned with the reason the import records on the timeline, and the error it then throws.
import { basename } from 'node:path';
import {
  type DsseTrustedKey,
  dsseVerify,
  Errors,
  parseDsseEnvelope,
  parseJsonWithLimits,
  StellaError,
} from '@stella/core';
import { SignalsErrors } from '../errors.ts';

export interface ManifestFile {
  path: string;
  /** Lowercase hex, without the `sha256:` prefix. */
  sha256: string;
}

export interface BundleManifest {
  files: ManifestFile[];
  anchor: string | undefined;
  raw: Buffer;
}

/** A failed check: `reason` and `details` go to the timeline (runtime.ingest.failed), `error` to the caller. */
export interface OfflineRefusal {
  refused: true;
  reason: string;
  details: Record<string, unknown>;
  error: StellaError;
}

function refusal(
  reason: string,
  details: Record<string, unknown>,
  def: typeof SignalsErrors.offlineHashMismatch,
  message: string,
  problemDetails?: Record<string, unknown>,
): OfflineRefusal {
  return {
    refused: true,
    reason,
    details,
    error: new StellaError(def, message, problemDetails ? { details: problemDetails } : {}),
  };
}

/** manifest.json: `{files: [{path, sha256}], timeAnchor: {issuedAt}}`; a `{path: sha256}` map and `generatedAt` also work. */
export function parseBundleManifest(raw: Buffer, path: string): BundleManifest {
  let parsed: Record<string, unknown>;
  try {
    parsed = parseJsonWithLimits(raw.toString('utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new StellaError(Errors.usage, `cannot read manifest ${path}: ${(error as Error).message}`, { cause: error });
  }
  const files: ManifestFile[] = [];
  const list = parsed.files ?? parsed.entries;
  if (Array.isArray(list)) {
    for (const f of list as Record<string, unknown>[]) {
      files.push(manifestFile(path, f.path, f.sha256 ?? f.hash ?? f.digest));
    }
  } else if (typeof list === 'object' && list !== null) {
    for (const [p, h] of Object.entries(list as Record<string, unknown>)) files.push(manifestFile(path, p, h));
  }
  if (files.length === 0) throw new StellaError(Errors.usage, `manifest ${path} lists no files`);
  return { files, anchor: anchorOf(parsed) || undefined, raw };
}

/** One listed file, in either manifest form: hex compared lowercase, with or without `sha256:`. */
function manifestFile(manifestPath: string, path: unknown, hash: unknown): ManifestFile {
  if (typeof path !== 'string' || !path || typeof hash !== 'string' || !hash) {
    throw new StellaError(Errors.usage, `manifest ${manifestPath}: every file needs path and sha256`);
  }
  return { path, sha256: hash.replace(/^sha256:/i, '').toLowerCase() };
}

/** timeAnchor.issuedAt (or its spellings), a bare timeAnchor string, else generatedAt. */
function anchorOf(parsed: Record<string, unknown>): string | undefined {
  const anchorObject = (parsed.timeAnchor ?? parsed.time_anchor) as Record<string, unknown> | string | undefined;
  if (typeof anchorObject === 'string') return anchorObject;
  if (typeof anchorObject === 'object' && anchorObject) {
    return String(
      anchorObject.issuedAt ?? anchorObject.issued_at ?? anchorObject.anchorTime ?? anchorObject.anchor_time ?? '',
    );
  }
  if (typeof parsed.generatedAt === 'string') return parsed.generatedAt;
  return typeof parsed.generated_at === 'string' ? parsed.generated_at : undefined;
}

/**
 * The trace must be listed, and every listed file must have the hash the manifest gives.
 * `digestOf(file)` is the measured sha256 (hex), undefined for a file that is missing.
 */
export function checkManifestHashes(
  manifest: BundleManifest,
  manifestName: string,
  runtimeName: string,
  digestOf: (file: ManifestFile) => string | undefined,
): OfflineRefusal | { refused: false } {
  if (!manifest.files.some((f) => basename(f.path) === runtimeName)) {
    return refusal(
      'runtime_not_in_manifest',
      {},
      SignalsErrors.offlineHashMismatch,
      `${runtimeName} is not listed in ${manifestName}`,
    );
  }
  for (const file of manifest.files) {
    const actual = digestOf(file);
    if (actual === undefined) {
      return refusal(
        'file_missing',
        { file: file.path },
        SignalsErrors.offlineHashMismatch,
        `${file.path} is listed in the manifest but missing`,
      );
    }
    if (actual !== file.sha256) {
      const details = { file: file.path, expected: `sha256:${file.sha256}`, actual: `sha256:${actual}` };
      return refusal(
        'hash_mismatch',
        details,
        SignalsErrors.offlineHashMismatch,
        `hash mismatch for ${file.path}: manifest says sha256:${file.sha256}, file is sha256:${actual}`,
        details,
      );
    }
  }
  return { refused: false };
}

/** A trusted signature over an in-toto statement naming this trace's digest (hex); an Error: the file was unreadable. */
export function checkDsse(
  envelopeText: string | Error,
  envelopeName: string,
  trusted: readonly DsseTrustedKey[],
  runtimeSha256: string,
): OfflineRefusal | { refused: false; keyid: string } {
  let verdict: ReturnType<typeof dsseVerify>;
  try {
    if (envelopeText instanceof Error) throw envelopeText;
    verdict = dsseVerify(parseDsseEnvelope(parseJsonWithLimits(envelopeText)), trusted);
  } catch (error) {
    verdict = { verified: false, reason: (error as Error).message };
  }
  if (!verdict.verified) {
    return refusal(
      'dsse_invalid',
      { detail: verdict.reason },
      SignalsErrors.dsseInvalid,
      `DSSE ${envelopeName} does not verify: ${verdict.reason}`,
    );
  }
  const statement = parseJsonWithLimits(verdict.payload.toString('utf8')) as {
    subject?: { digest?: { sha256?: string } }[];
  };
  if (!statement.subject?.some((s) => s.digest?.sha256 === runtimeSha256)) {
    return refusal(
      'dsse_subject_mismatch',
      {},
      SignalsErrors.dsseInvalid,
      `DSSE ${envelopeName} does not cover sha256:${runtimeSha256}`,
    );
  }
  return { refused: false, keyid: verdict.keyid };
}

/** The manifest's time anchor, present and no older than `budgetSeconds` at `now`. */
export function checkTimeAnchor(
  anchor: string | undefined,
  now: Date,
  budgetSeconds: number,
): OfflineRefusal | { refused: false; anchorMs: number; stalenessSeconds: number } {
  const anchorMs = anchor ? Date.parse(anchor) : Number.NaN;
  if (!Number.isFinite(anchorMs)) {
    return refusal(
      'time_anchor_missing',
      {},
      SignalsErrors.offlineStale,
      'manifest.json carries no time anchor (timeAnchor.issuedAt); refusing to import',
    );
  }
  const stalenessSeconds = Math.max(0, Math.floor((now.getTime() - anchorMs) / 1000));
  if (stalenessSeconds > budgetSeconds) {
    return refusal(
      'time_anchor_stale',
      { staleness_seconds: stalenessSeconds },
      SignalsErrors.offlineStale,
      `time anchor ${anchor} is ${stalenessSeconds} s old; the budget is ${budgetSeconds} s (signals.offlineStalenessBudgetSeconds)`,
      { staleness_seconds: stalenessSeconds },
    );
  }
  return { refused: false, anchorMs, stalenessSeconds };
}
