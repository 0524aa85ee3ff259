// `cas://<namespace>/<sha256hex>` addresses. The namespace becomes a path on disk and a key prefix in
// S3, so it is validated strictly here: nothing that parses can escape the store's root.
import { Errors, type Sha256Digest, StellaError } from '@stella/core';

export interface CasAddress {
  /** One or more `/`-separated segments, e.g. `reachability/graphs`. */
  namespace: string;
  /** 64 lowercase hex characters. */
  hex: string;
  digest: Sha256Digest;
}

const SCHEME = 'cas://';
// A leading letter or digit keeps `.`, `..` and hidden names (the store's own `.tmp`) out of namespaces.
const SEGMENT_RE = /^[a-z0-9][a-z0-9._-]*$/;
const HEX_RE = /^[0-9a-f]{64}$/;
// Keeps `<prefix>/<namespace>/<hh>/<hex>` well inside S3's 1024-byte key limit and common path limits.
const MAX_NAMESPACE_LENGTH = 256;

/** Throws ERR_VALIDATION unless the namespace is safe to use as a path and a key prefix. */
export function assertNamespace(namespace: string): void {
  if (namespace.length === 0 || namespace.length > MAX_NAMESPACE_LENGTH) {
    throw invalid(`CAS namespace must be 1 to ${MAX_NAMESPACE_LENGTH} characters, got ${namespace.length}`);
  }
  for (const segment of namespace.split('/')) {
    if (!SEGMENT_RE.test(segment) || segment.includes('..')) {
      throw invalid(
        `CAS namespace ${JSON.stringify(namespace)} has an invalid segment ${JSON.stringify(segment)}: ` +
          'use lowercase letters, digits, ".", "_" and "-", starting with a letter or digit',
      );
    }
  }
}

export function formatCasUri(namespace: string, hex: string): string {
  assertNamespace(namespace);
  if (!HEX_RE.test(hex)) throw invalid(`not a lowercase sha256 hex digest: ${JSON.stringify(hex)}`);
  return `${SCHEME}${namespace}/${hex}`;
}

/** Parses `cas://<namespace>/<hex>` or `cas://<namespace>/sha256:<hex>`; throws ERR_VALIDATION otherwise. */
export function parseCasUri(uri: string): CasAddress {
  if (!uri.startsWith(SCHEME)) throw invalid(`not a cas:// URI: ${JSON.stringify(uri)}`);
  const rest = uri.slice(SCHEME.length);
  const slash = rest.lastIndexOf('/');
  if (slash <= 0) throw invalid(`CAS URI needs a namespace and a digest: ${JSON.stringify(uri)}`);
  const namespace = rest.slice(0, slash);
  const last = rest.slice(slash + 1);
  const hex = last.startsWith('sha256:') ? last.slice('sha256:'.length) : last;
  if (!HEX_RE.test(hex)) {
    throw invalid(`CAS URI must end in 64 lowercase hex characters: ${JSON.stringify(uri)}`);
  }
  assertNamespace(namespace);
  return { namespace, hex, digest: `sha256:${hex}` };
}

function invalid(message: string): StellaError {
  return new StellaError(Errors.validation, message);
}
