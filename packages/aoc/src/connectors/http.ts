// SPDX-License-Identifier: Apache-2.0
// Pulls documents from an HTTP(S) base URL that publishes a directory-style `index.txt` (one relative
// path per line, as CSAF providers do). Order is the sorted relative path and the cursor the last
// path, as for the directory connector; entries that resolve outside the base URL are not fetched.
import { CONNECTOR_VERSION, compareStrings, isDocumentName } from './documents.ts';
import { ConnectorError } from './errors.ts';
import { DEFAULT_HTTP_SETTINGS, type GetContext, getResource, type HttpSettings } from './http-client.ts';
import { fetchListedDocument, type ListedDocument } from './remote.ts';
import type { Connector, FetchedDocument, FetchOptions } from './types.ts';

/** The directory a base URL stands for, always with a trailing slash so relative paths resolve under it. */
export function directoryUrl(input: string | URL): URL {
  const url = new URL(input);
  if (url.pathname.endsWith('/index.txt')) return new URL('./', url);
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

/** Lines of an index.txt; blank lines and `#` comments are ignored. */
export function parseIndex(bytes: Uint8Array): string[] {
  return Buffer.from(bytes)
    .toString('utf8')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** Where a URL sits relative to a directory URL, or undefined when it is outside it. */
export function relativeTo(base: URL, url: URL): string | undefined {
  if (url.origin !== base.origin || !url.pathname.startsWith(base.pathname)) return undefined;
  return decodeURIComponent(url.pathname.slice(base.pathname.length));
}

export async function listIndex(
  base: URL,
  options: FetchOptions,
  context: GetContext,
): Promise<{ rel: string; url: URL }[] | null> {
  const indexUrl = new URL('index.txt', base);
  const index = await getResource(indexUrl, options.limits.decompressedBytes, context);
  if (index === null) return null;
  const seen = new Map<string, URL>();
  for (const line of parseIndex(index)) {
    const url = new URL(line, base);
    const rel = relativeTo(base, url);
    if (rel === undefined || rel.split('/').includes('..')) {
      options.onSkip?.({ location: line, reason: `index entry resolves outside ${base.href}; not fetched` });
      continue;
    }
    if (!isDocumentName(rel)) {
      options.onSkip?.({ location: rel, reason: 'not a *.json or *.json.gz document' });
      continue;
    }
    seen.set(rel, url);
  }
  return [...seen].map(([rel, url]) => ({ rel, url })).sort((a, b) => compareStrings(a.rel, b.rel));
}

export function createHttpConnector(settings: Partial<HttpSettings> = {}): Connector {
  const http = { ...DEFAULT_HTTP_SETTINGS, ...settings };
  async function* fetchHttp(options: FetchOptions): AsyncGenerator<FetchedDocument> {
    if (!/^https?:\/\//i.test(options.input))
      throw new ConnectorError('ERR_CONNECTOR_INPUT', `${options.input}: the http connector takes an http(s) base URL`);
    const base = directoryUrl(options.input);
    const context: GetContext = { fetch: options.fetch ?? fetch, signal: options.signal, settings: http };
    const listed = await listIndex(base, options, context);
    if (listed === null)
      throw new ConnectorError(
        'ERR_CONNECTOR_INPUT',
        `${base.href}index.txt: not found; the base URL must publish an index.txt`,
      );
    let done = 0;
    for (const { rel, url } of listed) {
      done++;
      if (options.cursor !== undefined && compareStrings(rel, options.cursor) <= 0) continue;
      options.signal?.throwIfAborted();
      const doc: ListedDocument = { url, location: url.href, cursor: rel };
      const fetched = await fetchListedDocument(doc, options, context, (u) => u.href);
      options.onProgress?.({ done, total: listed.length, location: fetched.location });
      yield fetched;
    }
  }
  return { name: 'http', version: CONNECTOR_VERSION, fetch: fetchHttp };
}
