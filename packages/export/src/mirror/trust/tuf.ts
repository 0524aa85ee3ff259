// SPDX-License-Identifier: Apache-2.0
// TUF metadata of a mirror bundle (spec §2.6, export-formats §4.4): root, targets, snapshot and
// timestamp signed by the one mirror key (threshold 1), so `tuf-js` can verify the bundle offline.
// Every input is explicit (expiry, version), and Ed25519 is deterministic, so the same inputs give
// the same bytes and a rebuilt bundle is byte-identical.
import { createPublicKey } from 'node:crypto';
import { canonicalJson, parseSha256, sha256Hex } from '@stella/core';
import { Metadata, MetadataKind, Signature } from '@tufjs/models';
import { mirrorJsonBytes } from './json.ts';
import { assertEd25519Signer, type MirrorSigner } from './signer.ts';

export const TUF_DIR = 'tuf';
/** The TUF specification version the metadata follows; tuf-js accepts any 1.x. */
const TUF_SPEC_VERSION = '1.0.31';
const ROLES = ['root', 'targets', 'snapshot', 'timestamp'] as const;

export interface TufTarget {
  /** Path relative to the bundle root, '/'-separated. */
  path: string;
  /** The file's bytes, or its length and sha256 (hex, `sha256:` prefix allowed) when it was hashed as a stream. */
  bytes: Uint8Array | { length: number; sha256: string };
}

export interface TufMetadataInput {
  targets: readonly TufTarget[];
  signer: MirrorSigner;
  /** Expiry of all four roles; a fixed input so the metadata is reproducible. */
  expires: Date;
  /** Version of targets, snapshot and timestamp (default 1). Root stays version 1: its key never rotates here. */
  version?: number;
}

export interface TufKey {
  keyid: string;
  key: { keytype: 'ed25519'; scheme: 'ed25519'; keyval: { public: string } };
}

/**
 * The TUF key object of an Ed25519 public key (raw key as hex, as python-tuf writes it) and its TUF
 * keyid: sha256 of the key object's canonical JSON. For this all-ASCII object our canonical JSON
 * equals the OLPC canonical JSON TUF specifies.
 */
export function tufKeyOf(publicKeyPem: string): TufKey {
  const jwk = createPublicKey(publicKeyPem).export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || !jwk.x) throw new Error('TUF mirror keys must be Ed25519');
  const key = {
    keytype: 'ed25519' as const,
    scheme: 'ed25519' as const,
    keyval: { public: Buffer.from(jwk.x, 'base64url').toString('hex') },
  };
  return { keyid: sha256Hex(canonicalJson(key)), key };
}

/** TUF wants `YYYY-MM-DDTHH:MM:SSZ`, without fractional seconds. */
function tufTime(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new Error('TUF expiry is not a valid date');
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function targetEntry(target: TufTarget): { length: number; hashes: { sha256: string } } {
  const { path, bytes } = target;
  if (
    !path ||
    path.startsWith('/') ||
    path.includes('\\') ||
    path.split('/').some((s) => s === '' || s === '.' || s === '..')
  ) {
    throw new Error(
      `TUF target path ${JSON.stringify(path)} must be relative and '/'-separated, without . or .. segments`,
    );
  }
  if (bytes instanceof Uint8Array) return { length: bytes.length, hashes: { sha256: sha256Hex(bytes) } };
  const sha256 = parseSha256(bytes.sha256);
  if (!sha256 || !Number.isSafeInteger(bytes.length) || bytes.length < 0) {
    throw new Error(`TUF target ${path} needs a non-negative length and a sha256 hex digest`);
  }
  return { length: bytes.length, hashes: { sha256 } };
}

/** The `tuf/` files of a bundle, path → bytes: root (also as 1.root.json), targets, snapshot, timestamp and the public key. */
export function buildTufMetadata(input: TufMetadataInput): Map<string, Buffer> {
  const { signer } = input;
  assertEd25519Signer(signer);
  const version = input.version ?? 1;
  if (!Number.isSafeInteger(version) || version < 1) throw new Error('TUF version must be a positive integer');
  const expires = tufTime(input.expires);
  const { keyid, key } = tufKeyOf(signer.publicKeyPem);

  const targets: Record<string, ReturnType<typeof targetEntry>> = {};
  for (const target of input.targets) {
    if (targets[target.path]) throw new Error(`TUF target ${target.path} is listed twice`);
    targets[target.path] = targetEntry(target);
  }

  // Each role's file is signed, then its length and hash go into the role above it, so the timestamp
  // pins the snapshot and the snapshot pins targets (tuf-js checks both when present).
  const signed = (kind: MetadataKind, body: Record<string, unknown>, roleVersion = version): Buffer => {
    // fromJSON validates the role's fields (the same parser tuf-js clients use); its overloads want a
    // literal kind, and the body is JSON built here, hence the casts.
    const metadata = Metadata.fromJSON(
      kind as MetadataKind.Root,
      {
        signed: { _type: kind, spec_version: TUF_SPEC_VERSION, version: roleVersion, expires, ...body },
        signatures: [],
      } as never,
    );
    metadata.sign((data) => new Signature({ keyID: keyid, sig: signer.signBytes(data).toString('hex') }));
    return mirrorJsonBytes(metadata.toJSON());
  };
  const pin = (bytes: Buffer) => ({ version, length: bytes.length, hashes: { sha256: sha256Hex(bytes) } });

  const root = signed(
    MetadataKind.Root,
    {
      consistent_snapshot: false,
      keys: { [keyid]: key },
      roles: Object.fromEntries(ROLES.map((role) => [role, { keyids: [keyid], threshold: 1 }])),
    },
    1,
  );
  const targetsBytes = signed(MetadataKind.Targets, { targets });
  const snapshot = signed(MetadataKind.Snapshot, { meta: { 'targets.json': pin(targetsBytes) } });
  const timestamp = signed(MetadataKind.Timestamp, { meta: { 'snapshot.json': pin(snapshot) } });

  return new Map([
    [`${TUF_DIR}/root.json`, root],
    [`${TUF_DIR}/1.root.json`, root],
    [`${TUF_DIR}/targets.json`, targetsBytes],
    [`${TUF_DIR}/snapshot.json`, snapshot],
    [`${TUF_DIR}/timestamp.json`, timestamp],
    [tufPublicKeyPath(signer.keyid), Buffer.from(signer.publicKeyPem, 'utf8')],
  ]);
}

/**
 * Where the public key is published: `tuf/keys/<hex of the platform keyid>.pub`, the name the DSSE
 * envelopes and the time anchor carry (TUF's own keyid, a hash of the key object, is inside root.json).
 */
export function tufPublicKeyPath(keyid: string): string {
  return `${TUF_DIR}/keys/${keyid.replace(/^sha256:/, '')}.pub`;
}
