// The key-encryption key (KEK): every private key stella keeps in its database is sealed with it
// (AES-256-GCM, a random 96-bit nonce, the key's identity as additional data). The KEK lives outside
// the database ($STELLA_HOME/keys/kek, STELLA_KEK or auth.kekPath), so the database files, a dump or
// a backup alone no longer yield a key that can sign tokens or bundles.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { inspect } from 'node:util';
import { StellaError } from '@stella/core';
import type { Db } from '../db/index.ts';
import { KeyErrors } from './errors.ts';

const KEK_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Leads every sealed value; a later format gets a new prefix and both stay readable. */
const SEALED_PREFIX = 'kek1';
const SEALED_RE = /^kek1:([0-9a-f]{16}):([A-Za-z0-9_-]{16}):([A-Za-z0-9_-]{24,})$/;

export const DEFAULT_KEK_FILE = join('keys', 'kek');

export interface KeyEncryptionKey {
  /** Names the KEK in sealed values and messages; derived one-way, so it reveals nothing of the key. */
  readonly id: string;
  /** Seals a private key; `context` (key id, tenant, purpose) must be given again to open it. */
  seal(plaintext: string, context: string): string;
  /** Opens a sealed value; throws ERR_KEYS_KEK_MISMATCH or ERR_KEYS_SEALED_INVALID. */
  open(sealed: string, context: string): string;
  /** HMAC-SHA256 (base64url) under a key derived for `purpose` alone. */
  mac(purpose: string, data: string): string;
  /** Constant-time comparison of a stored MAC with a fresh one. */
  macEquals(purpose: string, data: string, stored: string): boolean;
}

/** True for a value written by `seal` (any KEK). */
export function isSealed(value: string): boolean {
  return SEALED_RE.test(value);
}

/** The id of the KEK a sealed value was sealed with, or undefined when it is not a sealed value. */
export function sealedKekId(value: string): string | undefined {
  return SEALED_RE.exec(value)?.[1];
}

export function keyEncryptionKeyFromBytes(bytes: Uint8Array): KeyEncryptionKey {
  if (bytes.length !== KEK_BYTES) {
    throw new StellaError(KeyErrors.kekInvalid, `a key-encryption key is ${KEK_BYTES} bytes, not ${bytes.length}`);
  }
  const master = Buffer.from(bytes);
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), info, 32));
  const sealingKey = derive('stella key sealing v1');
  const id = derive('stella kek id v1').subarray(0, 8).toString('hex');
  const macKeys = new Map<string, Buffer>();
  const macKey = (purpose: string) => {
    let key = macKeys.get(purpose);
    if (!key) {
      key = derive(`stella mac v1 ${purpose}`);
      macKeys.set(purpose, key);
    }
    return key;
  };
  const mac = (purpose: string, data: string) => createHmac('sha256', macKey(purpose)).update(data, 'utf8').digest();

  const kek: KeyEncryptionKey & { toJSON(): unknown } = {
    id,
    seal(plaintext, context) {
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', sealingKey, nonce);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      return `${SEALED_PREFIX}:${id}:${nonce.toString('base64url')}:${body.toString('base64url')}`;
    },
    open(sealed, context) {
      const match = SEALED_RE.exec(sealed);
      if (!match) throw new StellaError(KeyErrors.sealedKeyInvalid, `stored key for ${context} is not a sealed value`);
      const [, sealedWith, nonce, body] = match as unknown as [string, string, string, string];
      if (sealedWith !== id) {
        throw new StellaError(
          KeyErrors.kekMismatch,
          `stored key for ${context} was sealed with KEK ${sealedWith}, but the loaded KEK is ${id}`,
        );
      }
      const bytes = Buffer.from(body, 'base64url');
      if (bytes.length <= TAG_BYTES)
        throw new StellaError(KeyErrors.sealedKeyInvalid, `stored key for ${context} is truncated`);
      try {
        const decipher = createDecipheriv('aes-256-gcm', sealingKey, Buffer.from(nonce, 'base64url'));
        decipher.setAAD(Buffer.from(context, 'utf8'));
        decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
        return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - TAG_BYTES)), decipher.final()]).toString(
          'utf8',
        );
      } catch (error) {
        throw new StellaError(
          KeyErrors.sealedKeyInvalid,
          `stored key for ${context} failed authentication under KEK ${id} (altered, or copied from another row)`,
          { cause: error },
        );
      }
    },
    mac: (purpose, data) => mac(purpose, data).toString('base64url'),
    macEquals(purpose, data, stored) {
      const fresh = mac(purpose, data);
      const given = Buffer.from(stored, 'base64url');
      return given.length === fresh.length && timingSafeEqual(given, fresh);
    },
    // Logging the object, or serialising it by mistake, shows the id and never the key.
    toJSON: () => ({ kek: id }),
    [inspect.custom]: () => `KeyEncryptionKey(${id})`,
  } as KeyEncryptionKey & { toJSON(): unknown };
  return Object.freeze(kek);
}

/** Parses the base64 (or base64url) text form of a KEK; `where` names its origin in the error. */
export function parseKeyEncryptionKey(text: string, where: string): KeyEncryptionKey {
  const trimmed = text.trim();
  const bytes = /^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed) ? Buffer.from(trimmed, 'base64') : Buffer.alloc(0);
  if (bytes.length !== KEK_BYTES) {
    throw new StellaError(
      KeyErrors.kekInvalid,
      `${where} is not a key-encryption key: expected ${KEK_BYTES} bytes in base64 (openssl rand -base64 32), got ${bytes.length === 0 ? 'no base64' : `${bytes.length} bytes`}`,
    );
  }
  return keyEncryptionKeyFromBytes(bytes);
}

/** A fresh KEK in its text form (base64 of 32 random bytes). */
export function generateKeyEncryptionKeyText(): string {
  return randomBytes(KEK_BYTES).toString('base64');
}

export interface LoadKeyEncryptionKeyOptions {
  home: string;
  /** auth.kek: the KEK itself, base64. Wins over any file. */
  kek?: string;
  /** auth.kekPath: a file holding the KEK. Empty: $STELLA_HOME/keys/kek. */
  kekPath?: string;
  /**
   * Create $STELLA_HOME/keys/kek when it does not exist. Only right while the database holds no
   * sealed key yet; otherwise a missing file means a lost KEK, and a new one would not open them.
   */
  mayCreate: boolean;
}

export interface LoadedKeyEncryptionKey {
  kek: KeyEncryptionKey;
  source: 'config' | 'file' | 'created';
  /** The file read or created; undefined for auth.kek. */
  path: string | undefined;
}

export function loadKeyEncryptionKey(options: LoadKeyEncryptionKeyOptions): LoadedKeyEncryptionKey {
  if (options.kek)
    return { kek: parseKeyEncryptionKey(options.kek, 'auth.kek (STELLA_KEK)'), source: 'config', path: undefined };
  const explicit = Boolean(options.kekPath);
  const path = options.kekPath || join(options.home, DEFAULT_KEK_FILE);
  const text = readIfPresent(path);
  if (text !== undefined) return { kek: parseKeyEncryptionKey(text, path), source: 'file', path };
  if (explicit) {
    throw new StellaError(
      KeyErrors.kekMissing,
      `auth.kekPath names ${path}, which does not exist; point it at the KEK file or unset it to use $STELLA_HOME/keys/kek`,
    );
  }
  if (!options.mayCreate) {
    throw new StellaError(
      KeyErrors.kekMissing,
      `the database holds sealed private keys but ${path} does not exist and STELLA_KEK is not set: restore the KEK file from backup, or set STELLA_KEK to the KEK the keys were sealed with`,
    );
  }
  const created = generateKeyEncryptionKeyText();
  if (!writeNewPrivateFile(path, `${created}\n`)) {
    // Another process on this home created it between our read and our write: use theirs.
    return { kek: parseKeyEncryptionKey(readFileSync(path, 'utf8'), path), source: 'file', path };
  }
  return { kek: parseKeyEncryptionKey(created, path), source: 'created', path };
}

function readIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StellaError(
      KeyErrors.kekMissing,
      `cannot read the key-encryption key at ${path}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

/**
 * Mode 0600 from the first byte, in a 0700 directory; false when the file already exists. Written to a
 * temporary name and hard-linked into place, so a process starting beside us never reads a half-written
 * KEK: the name appears complete or not at all, and only one of two racing creators wins.
 */
function writeNewPrivateFile(path: string, content: string): boolean {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(temp, 'wx', 0o600);
  try {
    try {
      writeSync(fd, content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    linkSync(temp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    rmSync(temp, { force: true });
  }
}

// The KEK a database's keys are sealed with, attached at start so every store on that database (the
// authority's keys, the platform signing store of Export Center and Signals) uses the same one
// without it being threaded through each room.
const attached = new WeakMap<Db, KeyEncryptionKey>();

export function attachKeyEncryptionKey(db: Db, kek: KeyEncryptionKey): void {
  attached.set(db, kek);
}

/**
 * The KEK attached to this database. A database nobody attached one to (tests, a tool that opens a
 * throwaway database) gets a random KEK for the life of the Db object: keys it seals cannot be opened
 * after a restart, which is why the server attaches the real one before any room starts.
 */
export function keyEncryptionKeyFor(db: Db): KeyEncryptionKey {
  let kek = attached.get(db);
  if (!kek) {
    kek = keyEncryptionKeyFromBytes(randomBytes(KEK_BYTES));
    attached.set(db, kek);
  }
  return kek;
}
