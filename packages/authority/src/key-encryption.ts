// Start-up step for the key-encryption key (KEK): find which KEKs the stored private keys need, load
// (or on a fresh database create) the KEK, refuse a wrong or missing one with a coded error, attach it
// to the database for every key store, and seal keys still stored in plaintext by older versions.
import { StellaError } from '@stella/core';
import {
  attachKeyEncryptionKey,
  type Ctx,
  type KeyEncryptionKey,
  KeyErrors,
  loadKeyEncryptionKey,
  sealedSigningKeyKekIds,
  sealPlaintextSigningKeys,
} from '@stella/platform';
import { sealedAuthorityKekIds, sealPlaintextKeys } from './keys.ts';

export async function prepareKeyEncryption(
  ctx: Pick<Ctx, 'db' | 'config' | 'logger' | 'clock'>,
): Promise<KeyEncryptionKey> {
  const { db, config, logger } = ctx;
  const sealedWith = [...new Set([...(await sealedAuthorityKekIds(db)), ...(await sealedSigningKeyKekIds(db))])].sort();
  const loaded = loadKeyEncryptionKey({
    home: config.home,
    kek: config.auth.kek,
    kekPath: config.auth.kekPath,
    mayCreate: sealedWith.length === 0,
  });
  const { kek } = loaded;
  const foreign = sealedWith.filter((id) => id !== kek.id);
  if (foreign.length > 0) {
    const from = loaded.source === 'config' ? 'auth.kek (STELLA_KEK)' : loaded.path;
    throw new StellaError(
      KeyErrors.kekMismatch,
      `the database holds private keys sealed with KEK ${foreign.join(', ')}, but the KEK from ${from} is ${kek.id}: start with the KEK they were sealed with (restore $STELLA_HOME/keys/kek, or set STELLA_KEK / auth.kekPath; every instance on this database needs the same KEK)`,
    );
  }
  attachKeyEncryptionKey(db, kek);
  if (loaded.source === 'created') {
    logger.warn(
      { path: loaded.path, kek: kek.id },
      'key-encryption key created: back it up apart from the database; without it the stored signing keys cannot be used',
    );
  }

  const platformKeys = await sealPlaintextSigningKeys(db, kek);
  const authority = await sealPlaintextKeys(db, kek, {
    maxTokenLifetimeSeconds: config.auth.tokenTtlSeconds,
    skewSeconds: config.auth.clockSkewSeconds,
    now: ctx.clock.now(),
  });
  if (platformKeys.length > 0 || authority.sealed.length > 0) {
    logger.warn(
      {
        kek: kek.id,
        tokenSigningKeys: authority.sealed,
        tokenSigningKeyRotatedTo: authority.rotatedTo,
        signingKeys: platformKeys.map((k) => `${k.tenant}/${k.purpose}/${k.keyid}`),
      },
      'sealed private keys that were stored in plaintext; earlier copies may remain in old database files and backups, so the active token signing key was rotated; rotate the listed bundle signing keys too if the database was exposed',
    );
  }
  return kek;
}
