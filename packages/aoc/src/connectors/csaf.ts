// SPDX-License-Identifier: Apache-2.0
// CSAF trusted-provider distribution (CSAF 2.0 §7.1): from provider-metadata.json follow every
// `distributions[]` entry, ROLIE feeds (`feed.entry[].content.src` with `signature`/`hash` links) and
// directory distributions (`changes.csv` when published, else `index.txt`). Documents are handed over
// in (updated, location) order and the cursor is `<updated>|<location>`: the last processed
// timestamp, so a scheduled run given the previous cursor fetches only what changed since. Documents
// listed by `index.txt` alone carry no timestamp and sort first by location.
// A local provider-metadata.json is read as a file and its relative URLs resolve to files.
import { resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CONNECTOR_VERSION, compareStrings, isDocumentName } from './documents.ts';
import { ConnectorError } from './errors.ts';
import { directoryUrl, listIndex, relativeTo } from './http.ts';
import { DEFAULT_HTTP_SETTINGS, type GetContext, getResource, type HttpSettings } from './http-client.ts';
import { fetchListedDocument, type ListedDocument } from './remote.ts';
import type { Connector, FetchedDocument, FetchOptions } from './types.ts';

interface CsafEntry {
  url: URL;
  /** Normalised RFC 3339, or '' when the distribution gives no timestamp. */
  updated: string;
  signatureUrl?: URL;
  hashUrl?: URL;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(bytes: Uint8Array, what: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new ConnectorError('ERR_CONNECTOR_METADATA', `${what}: not JSON (${(err as Error).message})`, { cause: err });
  }
  if (!isObject(value)) throw new ConnectorError('ERR_CONNECTOR_METADATA', `${what}: not a JSON object`);
  return value;
}

function normaliseTimestamp(value: unknown): string {
  if (typeof value !== 'string') return '';
  const time = Date.parse(value);
  return Number.isNaN(time) ? '' : new Date(time).toISOString();
}

function resolveUrl(ref: unknown, base: URL, what: string): URL {
  if (typeof ref !== 'string' || ref === '') throw new ConnectorError('ERR_CONNECTOR_METADATA', `${what}: missing URL`);
  try {
    return new URL(ref, base);
  } catch (err) {
    throw new ConnectorError('ERR_CONNECTOR_METADATA', `${what}: invalid URL ${JSON.stringify(ref)}`, { cause: err });
  }
}

/** CSV fields of one line; CSAF changes.csv quotes both fields. */
export function parseCsvLine(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else field += c;
  }
  fields.push(field);
  return fields;
}

export async function readJson(url: URL, options: FetchOptions, context: GetContext, what: string): Promise<Json> {
  const bytes = await getResource(url, options.limits.decompressedBytes, context);
  if (bytes === null) throw new ConnectorError('ERR_CONNECTOR_METADATA', `${what} ${url.href}: not found`);
  return parseJson(bytes, `${what} ${url.href}`);
}

function linkHref(links: unknown, rel: string, base: URL, what: string): URL | undefined {
  if (!Array.isArray(links)) return undefined;
  const matching = links.filter((l): l is Json => isObject(l) && l.rel === rel && typeof l.href === 'string');
  // Several hash links are common (sha256 and sha512); the stronger one is kept.
  const chosen = matching.find((l) => String(l.href).endsWith('.sha512')) ?? matching[0];
  return chosen ? resolveUrl(chosen.href, base, what) : undefined;
}

async function rolieEntries(feedUrl: URL, options: FetchOptions, context: GetContext): Promise<CsafEntry[]> {
  const feed = await readJson(feedUrl, options, context, 'ROLIE feed');
  if (!isObject(feed.feed)) throw new ConnectorError('ERR_CONNECTOR_METADATA', `ROLIE feed ${feedUrl.href}: no "feed"`);
  const entries = feed.feed.entry ?? [];
  if (!Array.isArray(entries))
    throw new ConnectorError('ERR_CONNECTOR_METADATA', `ROLIE feed ${feedUrl.href}: "feed.entry" is not an array`);
  return entries.map((entry, i) => {
    const what = `ROLIE feed ${feedUrl.href} entry ${i}`;
    if (!isObject(entry)) throw new ConnectorError('ERR_CONNECTOR_METADATA', `${what}: not an object`);
    const content = isObject(entry.content) ? entry.content.src : undefined;
    const url =
      content !== undefined ? resolveUrl(content, feedUrl, what) : linkHref(entry.link, 'self', feedUrl, what);
    if (url === undefined) throw new ConnectorError('ERR_CONNECTOR_METADATA', `${what}: no content.src`);
    const listed: CsafEntry = { url, updated: normaliseTimestamp(entry.updated ?? entry.published) };
    const signatureUrl = linkHref(entry.link, 'signature', feedUrl, what);
    const hashUrl = linkHref(entry.link, 'hash', feedUrl, what);
    if (signatureUrl) listed.signatureUrl = signatureUrl;
    if (hashUrl) listed.hashUrl = hashUrl;
    return listed;
  });
}

async function directoryEntries(dirUrl: URL, options: FetchOptions, context: GetContext): Promise<CsafEntry[]> {
  const base = directoryUrl(dirUrl);
  const changes = await getResource(new URL('changes.csv', base), options.limits.decompressedBytes, context);
  if (changes !== null) {
    const entries: CsafEntry[] = [];
    for (const line of Buffer.from(changes).toString('utf8').split(/\r?\n/)) {
      if (line.trim() === '') continue;
      const [path, updated] = parseCsvLine(line);
      const url = resolveUrl(path, base, `${base.href}changes.csv`);
      const rel = relativeTo(base, url);
      if (rel === undefined || !isDocumentName(rel)) {
        options.onSkip?.({ location: path ?? line, reason: 'changes.csv entry is not a document under the directory' });
        continue;
      }
      entries.push({ url, updated: normaliseTimestamp(updated) });
    }
    return entries;
  }
  const listed = await listIndex(base, options, context);
  if (listed === null)
    throw new ConnectorError('ERR_CONNECTOR_METADATA', `${base.href}: neither changes.csv nor index.txt is published`);
  return listed.map(({ url }) => ({ url, updated: '' }));
}

/** Everything provider-metadata.json distributes, deduplicated by URL (ROLIE first: it carries hash and signature links). */
export async function listProviderDocuments(
  metadataUrl: URL,
  options: FetchOptions,
  context: GetContext,
): Promise<CsafEntry[]> {
  const metadata = await readJson(metadataUrl, options, context, 'provider-metadata.json');
  const distributions = metadata.distributions;
  if (!Array.isArray(distributions) || distributions.length === 0)
    throw new ConnectorError('ERR_CONNECTOR_METADATA', `${metadataUrl.href}: no distributions[]`);
  const rolie: CsafEntry[] = [];
  const directory: CsafEntry[] = [];
  for (const [i, distribution] of distributions.entries()) {
    const what = `${metadataUrl.href} distributions[${i}]`;
    if (!isObject(distribution)) throw new ConnectorError('ERR_CONNECTOR_METADATA', `${what}: not an object`);
    if (isObject(distribution.rolie) && Array.isArray(distribution.rolie.feeds))
      for (const [j, feed] of distribution.rolie.feeds.entries()) {
        const feedUrl = resolveUrl(isObject(feed) ? feed.url : undefined, metadataUrl, `${what}.rolie.feeds[${j}]`);
        rolie.push(...(await rolieEntries(feedUrl, options, context)));
      }
    if (distribution.directory_url !== undefined)
      directory.push(
        ...(await directoryEntries(resolveUrl(distribution.directory_url, metadataUrl, what), options, context)),
      );
  }
  const byUrl = new Map<string, CsafEntry>();
  for (const entry of [...rolie, ...directory]) if (!byUrl.has(entry.url.href)) byUrl.set(entry.url.href, entry);
  return [...byUrl.values()];
}

function parseCursor(cursor: string): { updated: string; location: string } {
  const bar = cursor.indexOf('|');
  if (bar < 0)
    throw new ConnectorError(
      'ERR_CONNECTOR_CURSOR',
      `cursor ${JSON.stringify(cursor)} was not produced by the csaf connector`,
    );
  return { updated: cursor.slice(0, bar), location: cursor.slice(bar + 1) };
}

function compareKeys(a: { updated: string; location: string }, b: { updated: string; location: string }): number {
  return compareStrings(a.updated, b.updated) || compareStrings(a.location, b.location);
}

export function createCsafConnector(settings: Partial<HttpSettings> = {}): Connector {
  const http = { ...DEFAULT_HTTP_SETTINGS, ...settings };
  async function* fetchCsaf(options: FetchOptions): AsyncGenerator<FetchedDocument> {
    const remote = /^https?:\/\//i.test(options.input);
    const metadataUrl = remote ? new URL(options.input) : pathToFileURL(resolve(options.input));
    const root = new URL('./', metadataUrl);
    // Local documents are named relative to the metadata's directory; anything else by its URL.
    const describe = (url: URL): string => {
      if (url.protocol !== 'file:') return url.href;
      const rel = relativeTo(root, url);
      return rel ?? fileURLToPath(url).split(sep).join('/');
    };
    const from = options.cursor === undefined ? undefined : parseCursor(options.cursor);
    const context: GetContext = { fetch: options.fetch ?? fetch, signal: options.signal, settings: http };
    if (!remote) context.fileRoot = fileURLToPath(root);
    const entries = (await listProviderDocuments(metadataUrl, options, context))
      .map((e) => ({ ...e, location: describe(e.url) }))
      .sort(compareKeys);
    let done = 0;
    for (const entry of entries) {
      done++;
      if (from !== undefined && compareKeys(entry, from) <= 0) continue;
      options.signal?.throwIfAborted();
      const listed: ListedDocument = {
        url: entry.url,
        location: entry.location,
        cursor: `${entry.updated}|${entry.location}`,
      };
      if (entry.signatureUrl) listed.signatureUrl = entry.signatureUrl;
      if (entry.hashUrl) listed.hashUrl = entry.hashUrl;
      const fetched = await fetchListedDocument(listed, options, context, describe);
      options.onProgress?.({ done, total: entries.length, location: fetched.location });
      yield fetched;
    }
  }
  return { name: 'csaf', version: CONNECTOR_VERSION, fetch: fetchCsaf };
}
