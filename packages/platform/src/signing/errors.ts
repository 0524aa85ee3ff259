// Error codes of the key-encryption key (KEK) that seals every private key stella stores in its
// database. All of them stop start-up: without the right KEK no stored signing key can be used.
import { defineError, ExitCode } from '@stella/core';

export const KeyErrors = {
  kekMissing: defineError({
    code: 'ERR_KEYS_KEK_MISSING',
    status: 500,
    exit: ExitCode.usage,
    title: 'Key-encryption key not found',
    hint: 'Restore $STELLA_HOME/keys/kek from its backup (kept apart from the database backups), or set STELLA_KEK (auth.kek) or auth.kekPath to the KEK the stored keys were sealed with.',
  }),
  kekInvalid: defineError({
    code: 'ERR_KEYS_KEK_INVALID',
    status: 500,
    exit: ExitCode.usage,
    title: 'Key-encryption key is malformed',
    hint: 'A KEK is 32 random bytes written in base64, e.g. the output of `openssl rand -base64 32`; fix STELLA_KEK (auth.kek) or the file at auth.kekPath.',
  }),
  kekMismatch: defineError({
    code: 'ERR_KEYS_KEK_MISMATCH',
    status: 500,
    exit: ExitCode.usage,
    title: 'Stored private keys were sealed with a different key-encryption key',
    hint: 'Start with the KEK the database was sealed with (the same $STELLA_HOME/keys/kek, STELLA_KEK or auth.kekPath on every instance); the message names the KEK ids found and loaded.',
  }),
  sealedKeyInvalid: defineError({
    code: 'ERR_KEYS_SEALED_INVALID',
    status: 500,
    exit: ExitCode.failure,
    title: 'A stored private key failed authentication',
    hint: 'The sealed key was altered or belongs to another row; restore the table from backup, or delete the key and rotate (`stella auth rotate-keys`).',
  }),
} as const;
