// SPDX-License-Identifier: Apache-2.0
// CSAF providers announce their OpenPGP keys in provider-metadata.json as `{fingerprint, url}`. A key
// fetched from that URL is only trusted when its fingerprint is the announced one (spec §3: "the
// fingerprint must match"); otherwise anyone who can serve the URL could sign for the provider.
// The result feeds the source's key configuration; the role tells whether signatures are mandatory.
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { systemClock } from '@stella/core';
import * as openpgp from 'openpgp';
import { readJson } from './csaf.ts';
import { DEFAULT_HTTP_SETTINGS, type GetContext, getResource, type HttpSettings } from './http-client.ts';
import type { FetchOptions } from './types.ts';

/** Armored public keys are a few KiB; a key with many signatures stays far below this. */
const KEY_BYTES = 1024 * 1024;

export interface ProviderKey {
  /** Upper-case hex, as announced. */
  fingerprint: string;
  url: string;
  /** The armored key, only when it was fetched and its fingerprint matches. */
  armored?: string;
  reason?: string;
}

export interface ProviderTrust {
  /** csaf_publisher | csaf_provider | csaf_trusted_provider, as declared. */
  role?: string;
  keys: ProviderKey[];
}

const normalise = (fingerprint: string) => fingerprint.replace(/\s+/g, '').toUpperCase();

export async function fetchProviderKeys(
  options: Pick<FetchOptions, 'input' | 'signal' | 'fetch' | 'limits'> & { now?: FetchOptions['now'] },
  settings: Partial<HttpSettings> = {},
): Promise<ProviderTrust> {
  const remote = /^https?:\/\//i.test(options.input);
  const metadataUrl = remote ? new URL(options.input) : pathToFileURL(resolve(options.input));
  const context: GetContext = {
    fetch: options.fetch ?? fetch,
    signal: options.signal,
    settings: { ...DEFAULT_HTTP_SETTINGS, ...settings },
  };
  if (!remote) context.fileRoot = fileURLToPath(new URL('./', metadataUrl));
  const metadata = await readJson(
    metadataUrl,
    { ...options, now: options.now ?? systemClock.now },
    context,
    'provider-metadata.json',
  );
  const trust: ProviderTrust = { keys: [] };
  if (typeof metadata.role === 'string') trust.role = metadata.role;
  const announced = Array.isArray(metadata.public_openpgp_keys) ? metadata.public_openpgp_keys : [];
  for (const entry of announced) {
    const { fingerprint, url } = (entry ?? {}) as { fingerprint?: unknown; url?: unknown };
    if (typeof url !== 'string') continue;
    const key: ProviderKey = { fingerprint: typeof fingerprint === 'string' ? normalise(fingerprint) : '', url };
    trust.keys.push(key);
    if (key.fingerprint === '') {
      key.reason = 'no fingerprint announced; the key cannot be pinned';
      continue;
    }
    try {
      const bytes = await getResource(new URL(url, metadataUrl), KEY_BYTES, context);
      if (bytes === null) {
        key.reason = `key not found at ${url}`;
        continue;
      }
      const text = Buffer.from(bytes).toString('utf8');
      const keys = text.includes('-----BEGIN PGP')
        ? await openpgp.readKeys({ armoredKeys: text })
        : await openpgp.readKeys({ binaryKeys: bytes });
      const match = keys.find((k) => normalise(k.getFingerprint()) === key.fingerprint);
      if (match === undefined)
        key.reason = `key at ${url} has fingerprint ${keys.map((k) => normalise(k.getFingerprint())).join(', ')}, not the announced ${key.fingerprint}`;
      else key.armored = match.toPublic().armor();
    } catch (err) {
      key.reason = `key at ${url} cannot be used: ${(err as Error).message}`;
    }
  }
  return trust;
}
