// Which file of the built console a request path names, and the headers it is served with. Pure, so
// the refusals (traversal, NUL, encoded dots) are tested without a server.
import { extname, join, resolve, sep } from 'node:path';

/**
 * Every console answer carries this policy: scripts, styles and fetches from this origin only (plus
 * the `connect` origins: an external sign-in provider's token endpoint), no framing. The Vite build
 * emits no inline script or style, so nothing needs a nonce or a hash.
 */
export function consoleCsp(connect: readonly string[] = []): string {
  return `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src ${["'self'", ...connect].join(' ')}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'`;
}

export const CONSOLE_CSP = consoleCsp();

export function consoleHeaders(connect: readonly string[] = []): Readonly<Record<string, string>> {
  return {
    'content-security-policy': consoleCsp(connect),
    'x-content-type-options': 'nosniff',
    // The callback URL carries the authorization code: never hand it to another origin as a referrer. Not
    // no-referrer: under it Chromium sends `Origin: null` on same-origin POSTs, and the authority refuses
    // a sign-out whose origin it cannot check.
    'referrer-policy': 'same-origin',
  };
}

/** Vite's hashed output: a new build gets new names, so these may be cached for a year. */
export const IMMUTABLE_CACHE = 'public, max-age=31536000, immutable';
/** index.html names the current hashes, so it is revalidated on every load. */
export const REVALIDATE_CACHE = 'no-cache';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

export type ConsoleTarget =
  /** A file of the build (its absolute path), served as it is. */
  | { kind: 'file'; path: string; contentType: string; cacheControl: string }
  /** A client-side route (/console/overview, /console/callback…): the single page answers it. */
  | { kind: 'page' }
  | { kind: 'refused'; reason: string };

/**
 * Maps the part of the path after /console/ (as the router decoded it) to a file under `distDir`.
 * A last segment without an extension is a client-side route; one with an extension must be a file,
 * so a stale asset name answers 404 instead of HTML the browser would try to run as a script.
 */
export function consoleTarget(distDir: string, relativePath: string): ConsoleTarget {
  if (relativePath.includes('\0')) return { kind: 'refused', reason: 'NUL in path' };
  if (relativePath.includes('\\')) return { kind: 'refused', reason: 'backslash in path' };
  const segments = relativePath.split('/');
  if (segments.some((s) => s === '.' || s === '..')) return { kind: 'refused', reason: 'dot segment in path' };
  const nonEmpty = segments.filter(Boolean);
  const last = nonEmpty.at(-1) ?? '';
  const extension = extname(last).toLowerCase();
  if (!extension) return { kind: 'page' };
  const root = resolve(distDir);
  const path = resolve(join(root, ...nonEmpty));
  // Belt and braces after the segment check: whatever the path became, it stays under the build.
  if (!path.startsWith(root + sep)) return { kind: 'refused', reason: 'path leaves the console build' };
  const contentType = CONTENT_TYPES[extension];
  if (!contentType) return { kind: 'refused', reason: `no ${extension} files in the console build` };
  return {
    kind: 'file',
    path,
    contentType,
    cacheControl: nonEmpty[0] === 'assets' ? IMMUTABLE_CACHE : REVALIDATE_CACHE,
  };
}
