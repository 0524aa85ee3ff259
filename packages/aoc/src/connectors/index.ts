// SPDX-License-Identifier: Apache-2.0
// The one door to the connectors: pick one by kind, or guess it from the input the operator typed.
import { createCsafConnector } from './csaf.ts';
import { createDirectoryConnector } from './directory.ts';
import { createHttpConnector } from './http.ts';
import type { HttpSettings } from './http-client.ts';
import { createOsvZipConnector } from './osv-zip.ts';
import type { Connector } from './types.ts';

export type ConnectorKind = 'directory' | 'osv-zip' | 'http' | 'csaf';
export const CONNECTOR_KINDS: readonly ConnectorKind[] = ['directory', 'osv-zip', 'http', 'csaf'];

export interface ConnectorSettings {
  /** Timeout, retries and backoff for HTTP(S) inputs; the defaults suit public mirrors. */
  http?: Partial<HttpSettings>;
  /** Zip archives up to this size are read into memory (default 128 MiB); larger ones from disk. */
  inMemoryArchiveBytes?: number;
}

export function connectorFor(kind: ConnectorKind, settings: ConnectorSettings = {}): Connector {
  switch (kind) {
    case 'directory':
      return createDirectoryConnector();
    case 'osv-zip':
      return createOsvZipConnector(settings.http, settings.inMemoryArchiveBytes);
    case 'http':
      return createHttpConnector(settings.http);
    case 'csaf':
      return createCsafConnector(settings.http);
  }
}

/** zip → osv-zip, provider-metadata.json → csaf, other http(s) URL → http, anything else → directory. */
export function detectConnector(input: string): ConnectorKind {
  const path = /^https?:\/\//i.test(input) ? new URL(input).pathname : input;
  if (/\.zip$/i.test(path)) return 'osv-zip';
  if (/(^|[/\\])provider-metadata\.json$/i.test(path)) return 'csaf';
  if (/^https?:\/\//i.test(input)) return 'http';
  return 'directory';
}

export { fetchProviderKeys, type ProviderKey, type ProviderTrust } from './csaf-keys.ts';
export { ConnectorError, type ConnectorErrorCode } from './errors.ts';
export type { HttpSettings } from './http-client.ts';
export type { Connector, FetchedDocument, FetchLimits, FetchOptions, FetchProgress, FetchSkip } from './types.ts';
