// SPDX-License-Identifier: Apache-2.0
// Offline verification of a mirror bundle's trust files, for `stella mirror verify` and offline import:
// a real tuf-js Updater walks tuf/ from the operator's trusted root, every target is checked for length
// and sha256, each DSSE envelope and the time-anchor token must be signed by a key of that root, and
// staleness and rollback are judged against the caller's clock and last accepted state. Every problem
// is a failed check naming the file; only programmer errors throw.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { type DsseTrustedKey, dsseVerify, parseDsseEnvelope, sha256Hex } from '@stella/core';
import { keyIdOf } from '@stella/platform';
import { Metadata, MetadataKind, type TargetFile } from '@tufjs/models';
import { type Fetcher, Updater } from 'tuf-js';
// Deep import: tuf-js exports its error classes only from dist/error.js, and the Updater stops
// looking for newer roots only on a DownloadHTTPError with status 404.
import { DownloadHTTPError, DownloadLengthMismatchError } from 'tuf-js/dist/error.js';
import {
  TIME_ANCHOR_TOKEN_PATH,
  TIME_ANCHOR_TOKEN_PAYLOAD_TYPE,
  type TimeAnchor,
  type TimeAnchorToken,
} from './time-anchor.ts';
import { TUF_DIR } from './tuf.ts';

export interface TrustCheck {
  /** Bundle-relative path of the file the check is about. */
  file: string;
  check: string;
  ok: boolean;
  reason?: string;
}

export interface VerifyTrustOptions {
  /** A root.json the operator trusts, obtained out of band; never the bundle's own copy. */
  trustedRoot: Buffer;
  /** The extracted bundle: tuf/ and the target files, at the paths targets.json names. */
  dir: string;
  /** Reference time for TUF expiry and anchor staleness. */
  now: Date;
  /** Oldest acceptable anchor age; no staleness check without it. */
  stalenessBudgetMs?: number;
  /** The state of the last bundle accepted; anything older is a rollback. */
  previous?: { tufTimestampVersion: number; anchorTime: string };
}

export interface TrustFiles {
  /** Envelopes to check: `path` must be signed with `payloadType` over exactly the bytes of `ofPath`. */
  dsse: { path: string; payloadType: string; ofPath: string }[];
  /** time-anchor.json, when the bundle carries one. */
  anchor?: string;
  /** Default TIME_ANCHOR_TOKEN_PATH. */
  anchorToken?: string;
}

/** Envelopes, anchors and signed files are metadata-sized; a larger file is refused before it is read. */
const MAX_SIGNED_FILE_BYTES = 64 * 1024 * 1024;
/** Never fetched: the fetcher maps this prefix onto `<dir>/tuf`. */
const METADATA_BASE_URL = 'https://mirror.invalid/tuf';
const TIME_ANCHOR_KEYS = ['anchorTime', 'format', 'signatureFingerprint', 'source', 'tokenDigest'];

/**
 * The DSSE keys of a trusted root.json: the keys of its `targets` role (the role that vouches for the
 * bundle's content), keyed by the platform keyid the envelopes carry. Throws when the root does not
 * parse, is not signed by its own root role, or holds a key that is not Ed25519.
 */
export function loadTrustedRootKeys(trustedRoot: Buffer): DsseTrustedKey[] {
  const root = Metadata.fromJSON(MetadataKind.Root, JSON.parse(trustedRoot.toString('utf8')));
  root.verifyDelegate(MetadataKind.Root, root);
  const role = root.signed.roles.targets;
  if (!role) throw new Error('trusted root has no targets role');
  return role.keyIDs.map((id) => {
    const key = root.signed.keys[id];
    if (key?.keyType !== 'ed25519') throw new Error(`trusted root key ${id} is missing or not Ed25519`);
    const publicKey = ed25519PublicKey(key.keyVal.public ?? '');
    return { keyid: keyIdOf(publicKey), publicKey };
  });
}

function ed25519PublicKey(keyval: string): KeyObject {
  if (keyval.startsWith('-----BEGIN')) return createPublicKey(keyval);
  if (!/^[0-9a-f]{64}$/i.test(keyval)) throw new Error('Ed25519 key is neither PEM nor 32 bytes of hex');
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(keyval, 'hex').toString('base64url') },
    format: 'jwk',
  });
}

export async function verifyTrust(options: VerifyTrustOptions, files: TrustFiles): Promise<TrustCheck[]> {
  assertOptions(options);
  const checks: TrustCheck[] = [];
  let keys: DsseTrustedKey[];
  try {
    keys = loadTrustedRootKeys(options.trustedRoot);
    checks.push({ file: 'trusted root', check: 'trusted-root', ok: true });
  } catch (err) {
    // Nothing can be verified without keys; say so once rather than once per file.
    return [{ file: 'trusted root', check: 'trusted-root', ok: false, reason: message(err) }];
  }
  checks.push(...(await verifyTuf(options)));
  for (const entry of files.dsse) checks.push(...(await verifyDsseFile(options.dir, entry, keys)));
  if (files.anchor) {
    checks.push(...(await verifyAnchor(options, files.anchor, files.anchorToken ?? TIME_ANCHOR_TOKEN_PATH, keys)));
  }
  return checks;
}

/** Bad options are the caller's bug, not the bundle's: they throw instead of failing a check. */
function assertOptions({ now, stalenessBudgetMs, previous }: VerifyTrustOptions): void {
  if (Number.isNaN(now.getTime())) throw new Error('verifyTrust: now is not a valid date');
  if (stalenessBudgetMs !== undefined && !(stalenessBudgetMs >= 0)) {
    throw new Error('verifyTrust: stalenessBudgetMs must be a non-negative number');
  }
  if (
    previous &&
    (!Number.isSafeInteger(previous.tufTimestampVersion) || Number.isNaN(Date.parse(previous.anchorTime)))
  ) {
    throw new Error('verifyTrust: previous needs an integer tufTimestampVersion and an RFC 3339 anchorTime');
  }
}

/** Walks tuf/ with a real Updater from a scratch metadata directory holding only the trusted root. */
async function verifyTuf(options: VerifyTrustOptions): Promise<TrustCheck[]> {
  const metadataDir = await mkdtemp(join(tmpdir(), 'stella-mirror-tuf-'));
  try {
    await writeFile(join(metadataDir, 'root.json'), options.trustedRoot);
    const fetcher = new DirectoryFetcher(join(options.dir, TUF_DIR));
    const updater = new Updater({ metadataDir, metadataBaseUrl: METADATA_BASE_URL, fetcher });
    setReferenceTime(updater, options.now);
    try {
      await updater.refresh();
    } catch (err) {
      return [{ file: fetcher.lastPath ?? TUF_DIR, check: 'tuf-metadata', ok: false, reason: message(err) }];
    }
    const checks: TrustCheck[] = [{ file: `${TUF_DIR}/timestamp.json`, check: 'tuf-metadata', ok: true }];
    // The Updater persisted the files it verified; read those, not the bundle's copies.
    const timestamp = Metadata.fromJSON(MetadataKind.Timestamp, await readJson(join(metadataDir, 'timestamp.json')));
    const targets = Metadata.fromJSON(MetadataKind.Targets, await readJson(join(metadataDir, 'targets.json')));
    checks.push(timestampRollback(timestamp.signed.version, options.previous));
    for (const path of Object.keys(targets.signed.targets).sort()) {
      const info = await updater.getTargetInfo(path);
      checks.push(info ? await verifyTarget(options.dir, info) : fail(path, 'tuf-target', 'not in verified targets'));
    }
    return checks;
  } finally {
    await rm(metadataDir, { recursive: true, force: true });
  }
}

/**
 * tuf-js takes its reference time from the system clock when the Updater is built and has no option
 * for it; verification must judge expiry at the caller's `now` (a pinned tuf-js, checked here).
 */
function setReferenceTime(updater: Updater, now: Date): void {
  const store = (updater as unknown as { trustedSet?: { referenceTime?: unknown } }).trustedSet;
  if (!store || !(store.referenceTime instanceof Date)) {
    throw new Error('tuf-js no longer keeps Updater.trustedSet.referenceTime; update verifyTrust for this version');
  }
  store.referenceTime = new Date(now.getTime());
}

function timestampRollback(version: number, previous: VerifyTrustOptions['previous']): TrustCheck {
  const file = `${TUF_DIR}/timestamp.json`;
  if (previous && version < previous.tufTimestampVersion) {
    return fail(
      file,
      'rollback',
      `timestamp version ${version} is older than the accepted ${previous.tufTimestampVersion}`,
    );
  }
  return { file, check: 'rollback', ok: true };
}

async function verifyTarget(dir: string, info: TargetFile): Promise<TrustCheck> {
  try {
    const full = inside(dir, info.path);
    // TargetFile.verify checks the length first, then every listed hash, over a stream.
    await info.verify(createReadStream(full));
    return { file: info.path, check: 'tuf-target', ok: true };
  } catch (err) {
    return fail(info.path, 'tuf-target', message(err));
  }
}

async function verifyDsseFile(
  dir: string,
  entry: TrustFiles['dsse'][number],
  keys: DsseTrustedKey[],
): Promise<TrustCheck[]> {
  let payload: Buffer;
  try {
    const envelope = parseDsseEnvelope(JSON.parse((await readCapped(dir, entry.path)).toString('utf8')));
    if (envelope.payloadType !== entry.payloadType) {
      return [fail(entry.path, 'dsse-signature', `payloadType ${envelope.payloadType}, expected ${entry.payloadType}`)];
    }
    const result = dsseVerify(envelope, keys);
    if (!result.verified) return [fail(entry.path, 'dsse-signature', result.reason)];
    payload = result.payload;
  } catch (err) {
    return [fail(entry.path, 'dsse-signature', message(err))];
  }
  const checks: TrustCheck[] = [{ file: entry.path, check: 'dsse-signature', ok: true }];
  try {
    const signed = await readCapped(dir, entry.ofPath);
    checks.push(
      signed.equals(payload)
        ? { file: entry.path, check: 'dsse-payload', ok: true }
        : fail(entry.path, 'dsse-payload', `signed payload differs from ${entry.ofPath}`),
    );
  } catch (err) {
    checks.push(fail(entry.path, 'dsse-payload', message(err)));
  }
  return checks;
}

async function verifyAnchor(
  options: VerifyTrustOptions,
  anchorPath: string,
  tokenPath: string,
  keys: DsseTrustedKey[],
): Promise<TrustCheck[]> {
  let anchor: TimeAnchor;
  try {
    anchor = parseAnchor(JSON.parse((await readCapped(options.dir, anchorPath)).toString('utf8')));
  } catch (err) {
    return [fail(anchorPath, 'anchor-schema', message(err))];
  }
  const checks: TrustCheck[] = [{ file: anchorPath, check: 'anchor-schema', ok: true }];
  checks.push(await verifyAnchorToken(options.dir, tokenPath, anchor, keys));

  const anchorMs = Date.parse(anchor.anchorTime);
  const ageMs = options.now.getTime() - anchorMs;
  if (options.stalenessBudgetMs !== undefined) {
    const budget = `${options.stalenessBudgetMs / 1000}s`;
    checks.push(
      ageMs < 0
        ? fail(anchorPath, 'staleness', `anchorTime ${anchor.anchorTime} is after now ${options.now.toISOString()}`)
        : ageMs > options.stalenessBudgetMs
          ? fail(
              anchorPath,
              'staleness',
              `anchor is ${ageMs / 1000}s old (anchorTime ${anchor.anchorTime}), over the budget of ${budget}`,
            )
          : { file: anchorPath, check: 'staleness', ok: true },
    );
  }
  const previous = options.previous;
  checks.push(
    previous && anchorMs < Date.parse(previous.anchorTime)
      ? fail(
          anchorPath,
          'rollback',
          `anchorTime ${anchor.anchorTime} is older than the accepted ${previous.anchorTime}`,
        )
      : { file: anchorPath, check: 'rollback', ok: true },
  );
  return checks;
}

/** The token must hash to tokenDigest, be signed by the trusted key the anchor names, and vouch for anchorTime. */
async function verifyAnchorToken(
  dir: string,
  tokenPath: string,
  anchor: TimeAnchor,
  keys: DsseTrustedKey[],
): Promise<TrustCheck> {
  try {
    const bytes = await readCapped(dir, tokenPath);
    const digest = sha256Hex(bytes);
    if (digest !== anchor.tokenDigest) {
      return fail(
        tokenPath,
        'anchor-token',
        `sha256 ${digest} differs from the anchor's tokenDigest ${anchor.tokenDigest}`,
      );
    }
    const envelope = parseDsseEnvelope(JSON.parse(bytes.toString('utf8')));
    if (envelope.payloadType !== TIME_ANCHOR_TOKEN_PAYLOAD_TYPE) {
      return fail(
        tokenPath,
        'anchor-token',
        `payloadType ${envelope.payloadType}, expected ${TIME_ANCHOR_TOKEN_PAYLOAD_TYPE}`,
      );
    }
    const result = dsseVerify(envelope, keys);
    if (!result.verified) return fail(tokenPath, 'anchor-token', result.reason);
    if (result.keyid !== anchor.signatureFingerprint) {
      return fail(
        tokenPath,
        'anchor-token',
        `signed by ${result.keyid}, the anchor names ${anchor.signatureFingerprint}`,
      );
    }
    const token = JSON.parse(result.payload.toString('utf8')) as Partial<TimeAnchorToken>;
    if (token.anchorTime !== anchor.anchorTime || token.source !== anchor.source) {
      return fail(tokenPath, 'anchor-token', 'token payload does not match the anchor time and source');
    }
    return { file: tokenPath, check: 'anchor-token', ok: true };
  } catch (err) {
    return fail(tokenPath, 'anchor-token', message(err));
  }
}

function parseAnchor(value: unknown): TimeAnchor {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object');
  const record = value as Record<string, unknown>;
  const extra = Object.keys(record).filter((k) => !TIME_ANCHOR_KEYS.includes(k));
  if (extra.length > 0) throw new Error(`unexpected properties: ${extra.join(', ')}`);
  for (const key of TIME_ANCHOR_KEYS) {
    if (typeof record[key] !== 'string') throw new Error(`${key} must be a string`);
  }
  const anchor = record as unknown as TimeAnchor;
  if (Number.isNaN(Date.parse(anchor.anchorTime))) throw new Error(`anchorTime ${anchor.anchorTime} is not RFC 3339`);
  if (!/^[0-9a-f]{64}$/.test(anchor.tokenDigest)) throw new Error('tokenDigest must be sha256 hex');
  return anchor;
}

/**
 * Serves `<dir>/tuf/<name>` for METADATA_BASE_URL/<name>. A missing file is a 404, which is how the
 * Updater learns there is no newer root; lastPath names the file a failed refresh was reading.
 */
class DirectoryFetcher implements Fetcher {
  lastPath: string | undefined;
  private readonly tufDir: string;
  constructor(tufDir: string) {
    this.tufDir = tufDir;
  }

  async downloadBytes(url: string, maxLength: number): Promise<Buffer> {
    const name = url.startsWith(`${METADATA_BASE_URL}/`) ? url.slice(METADATA_BASE_URL.length + 1) : '';
    if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.')) {
      throw new DownloadHTTPError(`${url} is not a metadata file of this bundle`, 404);
    }
    this.lastPath = `${TUF_DIR}/${name}`;
    let size: number;
    try {
      size = (await stat(join(this.tufDir, name))).size;
    } catch {
      throw new DownloadHTTPError(`${this.lastPath} is missing`, 404);
    }
    if (size > maxLength) throw new DownloadLengthMismatchError(`${this.lastPath} is larger than ${maxLength} bytes`);
    return readFile(join(this.tufDir, name));
  }

  async downloadFile<T>(url: string): Promise<T> {
    // Only Updater.downloadTarget uses this, and verifyTrust never calls it: it hashes targets in place.
    throw new Error(`DirectoryFetcher serves metadata only, not ${url}`);
  }
}

/** A bundle-relative path under dir; refuses absolute paths and `..` so signed metadata cannot point outside. */
function inside(dir: string, path: string): string {
  if (isAbsolute(path) || path.split(/[\\/]/).includes('..')) throw new Error(`${path} points outside the bundle`);
  return join(dir, ...path.split('/'));
}

async function readCapped(dir: string, path: string): Promise<Buffer> {
  const full = inside(dir, path);
  const { size } = await stat(full);
  if (size > MAX_SIGNED_FILE_BYTES) throw new Error(`${path} is larger than ${MAX_SIGNED_FILE_BYTES} bytes`);
  return readFile(full);
}

async function readJson(file: string): Promise<never> {
  return JSON.parse(await readFile(file, 'utf8')) as never;
}

function fail(file: string, check: string, reason: string): TrustCheck {
  return { file, check, ok: false, reason };
}

function message(err: unknown): string {
  // tuf-js errors keep name 'Error'; their class (ExpiredMetadataError, BadVersionError…) is the useful part.
  if (err instanceof Error) {
    const kind = err.constructor.name;
    return kind && kind !== 'Error' ? `${kind}: ${err.message}` : err.message;
  }
  return String(err);
}
