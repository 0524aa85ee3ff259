// SPDX-License-Identifier: Apache-2.0
// `stella mirror verify` (runbook §8.2, issue 15 item 5) and the check `stella offline import` runs
// first. Offline, over an opened bundle directory, every check reported (never the first only):
//   - the Export Center's checks (`stella export verify`): checksums, export.json contents, provenance,
//     DSSE envelopes and export.sig, against the pinned export-center key when given;
//   - the mirror's trust files (trust/verify.ts): TUF metadata through tuf-js's client from the trusted
//     root (signatures, thresholds, versions, expiry, target lengths and hashes), both DSSE envelopes,
//     the time anchor and its staleness against the budget;
//   - mirror/manifest.json: every payload file's sha256 and size, so the mirror key alone vouches for
//     the data, whoever holds the export-center key;
//   - with a base bundle, delta continuity: the delta names that base's export id and manifest digest.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hashFileStreaming, type VerifyCheck, verifyBundle } from '../bundle/index.ts';
import { unsafePathReason } from '../bundle/paths.ts';
import {
  MIRROR_BUNDLE_DSSE_PATH,
  MIRROR_BUNDLE_PATH,
  MIRROR_MANIFEST_DSSE_PATH,
  MIRROR_MANIFEST_PATH,
} from './seal.ts';
import {
  MIRROR_BUNDLE_PAYLOAD_TYPE,
  MIRROR_MANIFEST_PAYLOAD_TYPE,
  TIME_ANCHOR_PATH,
  TIME_ANCHOR_TOKEN_PATH,
  verifyTrust,
} from './trust/index.ts';

export const TUF_ROOT_PATH = 'tuf/root.json';

export interface MirrorVerifyOptions {
  /** PEM of the export-center key to pin; without it the bundled key is used (integrity, not origin). */
  exportKeyPem?: string;
  /** A TUF root.json to trust; without it the bundled tuf/root.json is used (integrity, not origin). */
  trustedRoot?: Buffer;
  now: Date;
  stalenessBudgetSeconds: number;
  /** The base of a delta, opened: its export.json is what the delta must name. */
  baseDir?: string;
}

export interface MirrorVerifyReport {
  ok: boolean;
  checks: VerifyCheck[];
  exportId?: string;
  /** The export-center key the Export Center's signatures were checked with. */
  keyid?: string;
  mode?: 'full' | 'delta';
  /** The time anchor's time, when it verified. */
  anchorTime?: string;
  stalenessSeconds?: number;
  /** tuf/timestamp.json's version. */
  tufTimestampVersion?: number;
  /** Which trust was pinned by the caller, and which came from the bundle itself. */
  pinned: { exportKey: boolean; tufRoot: boolean };
}

async function readJson(path: string): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** mirror/manifest.json against the files on disk. */
async function checkMirrorManifest(dir: string, checks: VerifyCheck[]): Promise<void> {
  const manifest = await readJson(join(dir, MIRROR_MANIFEST_PATH));
  const files = manifest?.files;
  if (!Array.isArray(files)) {
    checks.push({
      file: MIRROR_MANIFEST_PATH,
      check: 'mirror manifest',
      ok: false,
      reason: 'missing or not a mirror manifest',
    });
    return;
  }
  let failed = 0;
  for (const entry of files as { path?: unknown; sha256?: unknown; bytes?: unknown }[]) {
    const path = String(entry.path);
    const fail = (reason: string) => {
      failed++;
      checks.push({ file: path, check: 'mirror manifest sha256 and size', ok: false, reason });
    };
    if (unsafePathReason(path)) {
      fail(`unsafe path (${unsafePathReason(path)})`);
      continue;
    }
    const file = join(dir, path);
    if (!existsSync(file)) {
      fail('file is missing');
      continue;
    }
    const actual = await hashFileStreaming(file);
    if (actual.bytes !== entry.bytes) fail(`${actual.bytes} bytes, the manifest says ${String(entry.bytes)}`);
    else if (actual.hex !== entry.sha256) fail(`sha256 is ${actual.hex}, the manifest says ${String(entry.sha256)}`);
  }
  if (failed === 0)
    checks.push({ file: MIRROR_MANIFEST_PATH, check: `mirror manifest: ${files.length} files match`, ok: true });
}

/** A delta names its base by export id and the sha256 of the base's export.json. */
async function checkContinuity(dir: string, baseDir: string, checks: VerifyCheck[]): Promise<void> {
  const delta = (await readJson(join(dir, 'export.json')))?.delta as
    | { baseExportId?: unknown; baseManifestDigest?: unknown }
    | undefined;
  const check = 'delta continuity with the given base';
  if (!delta) {
    checks.push({ file: 'export.json', check, ok: false, reason: 'this bundle is not a delta (no delta{})' });
    return;
  }
  const baseBytes = await readFile(join(baseDir, 'export.json')).catch(() => undefined);
  const base = baseBytes ? (JSON.parse(baseBytes.toString('utf8')) as { exportId?: unknown }) : undefined;
  const digest = baseBytes ? `sha256:${createHash('sha256').update(baseBytes).digest('hex')}` : undefined;
  if (base?.exportId !== delta.baseExportId) {
    checks.push({
      file: 'export.json',
      check,
      ok: false,
      reason: `the delta builds on ${String(delta.baseExportId)}, the base given is ${String(base?.exportId)}`,
    });
  } else if (digest !== delta.baseManifestDigest) {
    checks.push({
      file: 'export.json',
      check,
      ok: false,
      reason: `the base's export.json is ${digest}, the delta names ${String(delta.baseManifestDigest)}`,
    });
  } else checks.push({ file: 'export.json', check, ok: true });
}

/** Every check of a mirror bundle opened at `dir`; never throws for a bad bundle. */
export async function verifyMirror(dir: string, options: MirrorVerifyOptions): Promise<MirrorVerifyReport> {
  const base = await verifyBundle(
    dir,
    options.exportKeyPem === undefined ? {} : { publicKeyPem: options.exportKeyPem },
  );
  const checks = [...base.checks];
  const exportJson = await readJson(join(dir, 'export.json'));
  const variant = (exportJson?.profile as { variant?: unknown } | undefined)?.variant;
  const mode = variant === 'full' || variant === 'delta' ? variant : undefined;
  const report: MirrorVerifyReport = {
    ok: false,
    checks,
    ...(base.exportId ? { exportId: base.exportId } : {}),
    ...(base.keyid ? { keyid: base.keyid } : {}),
    ...(mode ? { mode } : {}),
    pinned: { exportKey: options.exportKeyPem !== undefined, tufRoot: options.trustedRoot !== undefined },
  };
  const bundledRoot = await readFile(join(dir, TUF_ROOT_PATH)).catch(() => undefined);
  if (!bundledRoot) {
    checks.push({
      file: TUF_ROOT_PATH,
      check: 'TUF metadata',
      ok: false,
      reason: 'missing: not a signed mirror bundle',
    });
    return report;
  }
  checks.push(
    ...(await verifyTrust(
      {
        trustedRoot: options.trustedRoot ?? bundledRoot,
        dir,
        now: options.now,
        stalenessBudgetMs: options.stalenessBudgetSeconds * 1000,
      },
      {
        dsse: [
          { path: MIRROR_MANIFEST_DSSE_PATH, payloadType: MIRROR_MANIFEST_PAYLOAD_TYPE, ofPath: MIRROR_MANIFEST_PATH },
          { path: MIRROR_BUNDLE_DSSE_PATH, payloadType: MIRROR_BUNDLE_PAYLOAD_TYPE, ofPath: MIRROR_BUNDLE_PATH },
        ],
        anchor: TIME_ANCHOR_PATH,
        anchorToken: TIME_ANCHOR_TOKEN_PATH,
      },
    )),
  );
  await checkMirrorManifest(dir, checks);
  if (options.baseDir) await checkContinuity(dir, options.baseDir, checks);
  const anchor = await readJson(join(dir, TIME_ANCHOR_PATH));
  if (typeof anchor?.anchorTime === 'string') {
    report.anchorTime = anchor.anchorTime;
    report.stalenessSeconds = Math.floor((options.now.getTime() - Date.parse(anchor.anchorTime)) / 1000);
  }
  const timestamp = await readJson(join(dir, 'tuf/timestamp.json'));
  const version = (timestamp?.signed as { version?: unknown } | undefined)?.version;
  if (typeof version === 'number') report.tufTimestampVersion = version;
  report.ok = checks.every((c) => c.ok);
  return report;
}
