// SPDX-License-Identifier: Apache-2.0
// Pushes an OCI artifact to a registry over the distribution-spec HTTP API with global fetch: blobs that
// the registry already holds are skipped, others go up in one monolithic PUT streamed from disk, then the
// manifest is put under the tag. Basic credentials and the bearer-token challenge are both understood.
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { StellaError } from '@stella/core';
import { ExportErrors } from '../errors.ts';
import { assertTag, blobsFor, type OciArtifact, type OciBlob } from './layout.ts';
import { manifestReferences } from './manifest.ts';

export interface RegistryTarget {
  /** `https://host[:port]`, or `http://` for a plain-HTTP registry on a trusted network. */
  registry: string;
  /** Empty or absent: anonymous (or an anonymous bearer token when the registry asks for one). */
  username?: string;
  password?: string;
}

export interface PushOptions {
  signal?: AbortSignal;
  /** For each request without a body, and the base allowance of a blob upload; 30 s by default. */
  timeoutMs?: number;
}

export interface PushResult {
  /** `<host>/<repository>:<tag>@sha256:<hex>` */
  reference: string;
  digest: string;
}

/** A registry that has not answered a small request in 30 s is down for our purposes. */
const DEFAULT_TIMEOUT_MS = 30_000;
/** Blob uploads get the base timeout plus one second per MiB: a link slower than 1 MiB/s is treated as down. */
const MIN_UPLOAD_BYTES_PER_SECOND = 1024 * 1024;
/** Registry error bodies are small JSON; more than this is an HTML error page and not worth quoting. */
const MAX_QUOTED_ERROR_CHARS = 400;
// The distribution spec's repository name grammar.
const REPOSITORY_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/**
 * Pushes the artifact's blobs (plus the empty config blob) and then its manifest as `repository:tag`.
 * Every failure is ERR_EXPORT_006 naming `<host>/<repository>:<tag>`, with the original error as cause;
 * cancellation through `options.signal` rethrows the signal's reason instead.
 */
export async function pushArtifact(
  target: RegistryTarget,
  repository: string,
  tag: string,
  artifact: OciArtifact,
  options: PushOptions = {},
): Promise<PushResult> {
  const base = registryBase(target.registry);
  const name = `${base.host}/${repository}:${tag}`;
  const fail = (message: string, cause?: unknown) =>
    new StellaError(ExportErrors.distribution, `OCI push to ${name} failed: ${message}`, cause ? { cause } : {});
  if (!REPOSITORY_RE.test(repository) || repository.length > 255) {
    throw fail(`${JSON.stringify(repository)} is not a valid repository name (lowercase path components)`);
  }
  try {
    assertTag(tag);
  } catch (error) {
    throw fail((error as Error).message, error);
  }
  let blobs: OciBlob[];
  try {
    blobs = blobsFor(artifact, manifestReferences(artifact.manifest.bytes).layers);
  } catch (error) {
    throw fail((error as Error).message, error);
  }
  const session = new RegistrySession(base, target, repository, options, fail);
  for (const blob of blobs) await session.pushBlob(blob);
  await session.putManifest(tag, artifact.manifest);
  return { reference: `${name}@${artifact.manifest.digest}`, digest: artifact.manifest.digest };
}

function registryBase(registry: string): URL {
  let url: URL;
  try {
    url = new URL(registry);
  } catch (error) {
    // The value is not echoed: a malformed URL may still hold a password.
    throw new StellaError(ExportErrors.distribution, 'export.oci.registry is not a URL; use https://host[:port]', {
      cause: error,
    });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new StellaError(ExportErrors.distribution, `export.oci.registry must be http(s)://, not ${url.protocol}`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new StellaError(
      ExportErrors.distribution,
      `export.oci.registry for ${url.host} must not carry credentials; set export.oci.username and export.oci.password`,
    );
  }
  return new URL(`${url.protocol}//${url.host}/`);
}

interface RequestSpec {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  /** A factory, so a request retried after an auth challenge gets a fresh stream. */
  body?: () => Uint8Array | ReadableStream<Uint8Array>;
  timeoutMs: number;
  /** Which step, for messages: "checking blob sha256:…". */
  step: string;
}

class RegistrySession {
  #authorization: string | undefined;
  readonly #base: URL;
  readonly #target: RegistryTarget;
  readonly #repository: string;
  readonly #options: PushOptions;
  readonly #fail: (message: string, cause?: unknown) => StellaError;
  readonly #timeoutMs: number;

  constructor(
    base: URL,
    target: RegistryTarget,
    repository: string,
    options: PushOptions,
    fail: (message: string, cause?: unknown) => StellaError,
  ) {
    this.#base = base;
    this.#target = target;
    this.#repository = repository;
    this.#options = options;
    this.#fail = fail;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (this.#hasCredentials()) this.#authorization = `Basic ${this.#basicCredentials()}`;
  }

  async pushBlob(blob: OciBlob): Promise<void> {
    const path = `v2/${this.#repository}/blobs/${blob.digest}`;
    const head = await this.#send({
      method: 'HEAD',
      url: new URL(path, this.#base),
      timeoutMs: this.#timeoutMs,
      step: `checking blob ${blob.digest}`,
    });
    if (head.status === 200) return;
    if (head.status !== 404) throw await this.#unexpected(head, `checking blob ${blob.digest}`);

    const step = `uploading blob ${blob.digest} (${blob.size} bytes)`;
    const start = await this.#send({
      method: 'POST',
      url: new URL(`v2/${this.#repository}/blobs/uploads/`, this.#base),
      headers: { 'Content-Length': '0' },
      timeoutMs: this.#timeoutMs,
      step,
    });
    if (start.status !== 202) throw await this.#unexpected(start, step);
    const location = start.headers.get('location');
    if (!location) throw this.#fail(`${step}: the registry answered 202 without a Location header`);
    const upload = new URL(location, this.#base);
    upload.searchParams.set('digest', blob.digest);
    const { source } = blob;
    const done = await this.#send({
      method: 'PUT',
      url: upload,
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(blob.size) },
      body: () =>
        typeof source === 'string'
          ? (Readable.toWeb(createReadStream(source)) as ReadableStream<Uint8Array>)
          : new Uint8Array(source),
      timeoutMs: this.#timeoutMs + Math.ceil((blob.size / MIN_UPLOAD_BYTES_PER_SECOND) * 1000),
      step,
    });
    if (done.status !== 201) throw await this.#unexpected(done, step);
    const stored = done.headers.get('docker-content-digest');
    if (stored !== null && stored !== blob.digest) {
      throw this.#fail(`${step}: the registry stored it as ${stored}`);
    }
  }

  async putManifest(tag: string, manifest: OciArtifact['manifest']): Promise<void> {
    const step = `putting manifest ${manifest.digest}`;
    const response = await this.#send({
      method: 'PUT',
      url: new URL(`v2/${this.#repository}/manifests/${tag}`, this.#base),
      headers: { 'Content-Type': manifest.mediaType },
      body: () => new Uint8Array(manifest.bytes),
      timeoutMs: this.#timeoutMs,
      step,
    });
    if (response.status !== 201) throw await this.#unexpected(response, step);
    const stored = response.headers.get('docker-content-digest');
    if (stored !== null && stored !== manifest.digest) {
      throw this.#fail(`${step}: the registry stored the manifest as ${stored}, so it rewrote the bytes`);
    }
  }

  /** Sends once; on a 401 with a challenge it authenticates and sends once more. */
  async #send(spec: RequestSpec): Promise<Response> {
    const first = await this.#fetch(spec);
    if (first.status !== 401) return first;
    const challenge = first.headers.get('www-authenticate') ?? '';
    await first.body?.cancel();
    await this.#answerChallenge(challenge, spec.step);
    const second = await this.#fetch(spec);
    if (second.status === 401) {
      await second.body?.cancel();
      throw this.#fail(
        `${spec.step}: the registry refused the credentials (401); check export.oci.username and export.oci.password`,
      );
    }
    return second;
  }

  async #fetch(spec: RequestSpec, authorization = this.#authorization): Promise<Response> {
    const signal = this.#signal(spec.timeoutMs);
    const body = spec.body?.();
    try {
      return await fetch(spec.url, {
        method: spec.method,
        headers: { ...spec.headers, ...(authorization ? { Authorization: authorization } : {}) },
        ...(body === undefined ? {} : { body, duplex: 'half' }),
        redirect: 'follow',
        signal,
      });
    } catch (error) {
      throw this.#transportError(error, spec.step, spec.url, spec.timeoutMs);
    }
  }

  async #answerChallenge(challenge: string, step: string): Promise<void> {
    const { scheme, params } = parseChallenge(challenge);
    if (scheme === 'basic') {
      if (!this.#hasCredentials()) {
        throw this.#fail(`${step}: the registry requires credentials; set export.oci.username and export.oci.password`);
      }
      // Basic was already sent with the first request; a second challenge means the credentials are wrong.
      throw this.#fail(
        `${step}: the registry refused the credentials (401); check export.oci.username and export.oci.password`,
      );
    }
    if (scheme !== 'bearer' || !params.realm) {
      throw this.#fail(`${step}: the registry answered 401 with an unsupported challenge ${JSON.stringify(scheme)}`);
    }
    let realm: URL;
    try {
      realm = new URL(params.realm, this.#base);
    } catch (error) {
      throw this.#fail(`${step}: the registry's token realm is not a URL`, error);
    }
    if (params.service) realm.searchParams.set('service', params.service);
    realm.searchParams.set('scope', params.scope ?? `repository:${this.#repository}:pull,push`);
    const tokenStep = `${step}: fetching a token from ${realm.host}`;
    const response = await this.#fetch(
      { method: 'GET', url: realm, timeoutMs: this.#timeoutMs, step: tokenStep },
      this.#hasCredentials() ? `Basic ${this.#basicCredentials()}` : undefined,
    );
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      throw this.#fail(
        `${tokenStep}: the token service refused the credentials (${response.status}); check export.oci.username and export.oci.password`,
      );
    }
    if (response.status !== 200) throw await this.#unexpected(response, tokenStep);
    let token: unknown;
    try {
      const body = (await response.json()) as { token?: unknown; access_token?: unknown };
      token = body.token ?? body.access_token;
    } catch (error) {
      throw this.#fail(`${tokenStep}: the token response is not JSON`, error);
    }
    if (typeof token !== 'string' || token === '') throw this.#fail(`${tokenStep}: the token response has no token`);
    this.#authorization = `Bearer ${token}`;
  }

  #signal(timeoutMs: number): AbortSignal {
    const timeout = AbortSignal.timeout(timeoutMs);
    return this.#options.signal ? AbortSignal.any([this.#options.signal, timeout]) : timeout;
  }

  #transportError(error: unknown, step: string, url: URL, timeoutMs: number): unknown {
    if (this.#options.signal?.aborted) return this.#options.signal.reason;
    const err = error as Error & { cause?: { code?: string; message?: string } };
    if (err.name === 'TimeoutError')
      return this.#fail(`${step}: no answer from ${url.host} within ${timeoutMs} ms`, error);
    const code = err.cause?.code;
    if (code === 'ECONNREFUSED') {
      return this.#fail(`${step}: connection refused by ${url.host}; is the registry running?`, error);
    }
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
      return this.#fail(`${step}: cannot resolve ${url.hostname}`, error);
    const detail = err.cause?.message ?? err.message;
    return this.#fail(`${step}: ${url.host} could not be reached (${code ?? detail})`, error);
  }

  async #unexpected(response: Response, step: string): Promise<StellaError> {
    let text = '';
    try {
      text = await response.text();
    } catch {
      // the status alone still tells what happened
    }
    const detail = registryErrors(text);
    const kind =
      response.status === 403
        ? 'access denied'
        : response.status >= 500
          ? 'registry error'
          : response.status >= 400
            ? 'request rejected'
            : 'unexpected answer';
    return this.#fail(`${step}: ${kind} (HTTP ${response.status})${detail ? `: ${detail}` : ''}`);
  }

  #hasCredentials(): boolean {
    return Boolean(this.#target.username) || Boolean(this.#target.password);
  }

  #basicCredentials(): string {
    return Buffer.from(`${this.#target.username ?? ''}:${this.#target.password ?? ''}`).toString('base64');
  }
}

/** `{"errors":[{"code":"MANIFEST_INVALID","message":"…"}]}` → `MANIFEST_INVALID: …`; other bodies are quoted short. */
function registryErrors(text: string): string {
  try {
    const parsed = JSON.parse(text) as { errors?: { code?: unknown; message?: unknown }[] };
    if (Array.isArray(parsed.errors) && parsed.errors.length > 0) {
      return parsed.errors
        .map((e) => [e.code, e.message].filter((p) => typeof p === 'string' && p !== '').join(': '))
        .join('; ')
        .slice(0, MAX_QUOTED_ERROR_CHARS);
    }
  } catch {
    // not the distribution error format
  }
  return text.trim().slice(0, MAX_QUOTED_ERROR_CHARS);
}

/** Parses `Bearer realm="…",service="…",scope="…"` (RFC 7235 auth-params, quoted or token values). */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const match = /^\s*([A-Za-z][A-Za-z0-9_-]*)\s*(.*)$/s.exec(header);
  if (!match) return { scheme: '', params: {} };
  const params: Record<string, string> = {};
  const paramRe = /([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/g;
  for (const m of (match[2] ?? '').matchAll(paramRe)) {
    const key = (m[1] ?? '').toLowerCase();
    params[key] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
  }
  return { scheme: (match[1] ?? '').toLowerCase(), params };
}
