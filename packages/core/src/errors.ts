// The one registry of stable error codes. Each code carries its HTTP status, CLI exit code and a
// message template; docs/errors.md is generated from this table. Retired codes are never reused.

export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  verificationFailed: 3,
  notFound: 4,
  offlineViolation: 5,
  // AOC guard violations, one per ERR_AOC_00x (seed 004), and a verification cut short by --limit.
  aocForbiddenField: 11,
  aocMergeAttempt: 12,
  aocIdempotency: 13,
  aocMissingProvenance: 14,
  aocSignatureMismatch: 15,
  aocDerivedFindings: 16,
  aocUnknownField: 17,
  aocVerifyTruncated: 18,
  // Export Center run failures (ERR_EXPORT_003 … and the named ones).
  exportConcurrency: 21,
  exportAdapter: 22,
  exportSigning: 23,
  exportDistribution: 24,
  exportConflict: 25,
  exportExpired: 26,
  exportEmpty: 27,
  exportQuota: 28,
  exportBaseMissing: 29,
  exportUnsupportedSchema: 30,
  exportRange: 31,
  transport: 70,
  auth: 71,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface ErrorDefinition {
  readonly code: string;
  readonly status: number;
  readonly exit: number;
  readonly title: string;
  /** What the operator should do next; shown in docs and appended to problem details. */
  readonly hint: string;
}

const registry = new Map<string, ErrorDefinition>();

/** Registers a code once; a second registration with the same code is a programming error. */
export function defineError(def: ErrorDefinition): ErrorDefinition {
  if (registry.has(def.code)) throw new Error(`error code ${def.code} registered twice`);
  registry.set(def.code, Object.freeze({ ...def }));
  return def;
}

export function errorDefinitions(): ErrorDefinition[] {
  return [...registry.values()].sort((a, b) => a.code.localeCompare(b.code));
}

export function lookupError(code: string): ErrorDefinition | undefined {
  return registry.get(code);
}

export interface StellaErrorOptions {
  cause?: unknown;
  /** Extra members for the problem document (e.g. violations). Never secrets. */
  details?: Record<string, unknown>;
  headers?: Record<string, string>;
}

/** An error that crosses an HTTP or CLI boundary: always has a registered code. */
export class StellaError extends Error {
  readonly code: string;
  readonly status: number;
  readonly exit: number;
  readonly details: Record<string, unknown> | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(def: ErrorDefinition, message?: string, options: StellaErrorOptions = {}) {
    super(message ?? def.title, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StellaError';
    this.code = def.code;
    this.status = def.status;
    this.exit = def.exit;
    this.details = options.details;
    this.headers = options.headers;
  }
}

/** Turns any thrown value into an Error, keeping the original as `cause`. */
export function coerceError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === 'string' ? value : `non-error thrown: ${safeString(value)}`, { cause: value });
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

// Platform-wide codes. Rooms register their own codes in their own errors.ts.
export const Errors = {
  internal: defineError({
    code: 'ERR_INTERNAL',
    status: 500,
    exit: ExitCode.failure,
    title: 'Internal error',
    hint: 'Retry; if it persists, report the request id from the X-Stella-Request-Id header.',
  }),
  childFailed: defineError({
    code: 'ERR_CHILD_FAILED',
    status: 500,
    exit: ExitCode.failure,
    title: 'The command stella ran failed',
    hint: 'The message gives its exit status or signal; its own output above says why (e.g. `stella observe -- node app.js`).',
  }),
  notFound: defineError({
    code: 'ERR_NOT_FOUND',
    status: 404,
    exit: ExitCode.notFound,
    title: 'Resource not found',
    hint: 'Check the id and the tenant; ids of another tenant are reported as not found.',
  }),
  routeNotFound: defineError({
    code: 'ERR_ROUTE_NOT_FOUND',
    status: 404,
    exit: ExitCode.notFound,
    title: 'No such route',
    hint: 'See /openapi.json or /docs for the routes this server offers.',
  }),
  validation: defineError({
    code: 'ERR_VALIDATION',
    status: 400,
    exit: ExitCode.usage,
    title: 'Request failed validation',
    hint: 'Fix the fields named in the message; the schema is in /openapi.json.',
  }),
  malformedBody: defineError({
    code: 'ERR_MALFORMED_BODY',
    status: 400,
    exit: ExitCode.usage,
    title: 'Request body could not be parsed',
    hint: 'Send well-formed JSON (or the documented content type).',
  }),
  bodyTooLarge: defineError({
    code: 'ERR_BODY_TOO_LARGE',
    status: 413,
    exit: ExitCode.usage,
    title: 'Request body exceeds the configured limit',
    hint: 'Split the upload or raise limits.requestBodyBytes (STELLA_LIMITS_REQUEST_BODY_BYTES).',
  }),
  jsonTooDeep: defineError({
    code: 'ERR_LIMIT_JSON_DEPTH',
    status: 400,
    exit: ExitCode.usage,
    title: 'JSON nests deeper than the configured limit',
    hint: 'Flatten the document, or raise limits.jsonDepth (STELLA_LIMITS_JSON_DEPTH) if upstream data really nests this deep.',
  }),
  jsonTooManyKeys: defineError({
    code: 'ERR_LIMIT_JSON_KEYS',
    status: 400,
    exit: ExitCode.usage,
    title: 'A JSON object has more members than the configured limit',
    hint: 'Split the document, or raise limits.jsonKeys (STELLA_LIMITS_JSON_KEYS).',
  }),
  jsonStringTooLong: defineError({
    code: 'ERR_LIMIT_STRING_LENGTH',
    status: 400,
    exit: ExitCode.usage,
    title: 'A JSON string is longer than the configured limit',
    hint: 'Shorten the value, or raise limits.jsonStringLength (STELLA_LIMITS_JSON_STRING_LENGTH).',
  }),
  invalidText: defineError({
    code: 'ERR_INVALID_TEXT',
    status: 400,
    exit: ExitCode.usage,
    title: 'Text that cannot be stored: NUL or an unpaired UTF-16 surrogate',
    hint: 'Remove the NUL character or the lone surrogate escape (e.g. "\\ud800"); PostgreSQL text and jsonb refuse both.',
  }),
  identifierTooLong: defineError({
    code: 'ERR_LIMIT_IDENTIFIER_LENGTH',
    status: 400,
    exit: ExitCode.usage,
    title: 'An identifier, path segment or query value is longer than the configured limit',
    hint: 'Shorten the id or value, or raise limits.identifierLength (STELLA_LIMITS_IDENTIFIER_LENGTH); ids longer than it could not be read back by URL.',
  }),
  invalidCursor: defineError({
    code: 'ERR_INVALID_CURSOR',
    status: 400,
    exit: ExitCode.usage,
    title: 'Paging cursor is not one this server issued',
    hint: 'Pass nextCursor from the previous page unchanged, or leave cursor out to start from the first page.',
  }),
  badRequest: defineError({
    code: 'ERR_BAD_REQUEST',
    status: 400,
    exit: ExitCode.usage,
    title: 'Malformed HTTP request',
    hint: 'The request line, a header, the URL encoding or the chunked framing is not valid HTTP/1.1; fix the client or the proxy in front of stella.',
  }),
  headersTooLarge: defineError({
    code: 'ERR_HEADERS_TOO_LARGE',
    status: 431,
    exit: ExitCode.usage,
    title: 'Request headers are larger than the server accepts',
    hint: "Send fewer or shorter headers (cookies, long custom headers); Node's limit is 16 KiB unless --max-http-header-size raises it.",
  }),
  requestTimeout: defineError({
    code: 'ERR_REQUEST_TIMEOUT',
    status: 408,
    exit: ExitCode.transport,
    title: 'The request was not received in time',
    hint: 'Send the headers and the whole body without stalling; a client that stops sending mid-request is cut off.',
  }),
  requestDeadline: defineError({
    code: 'ERR_REQUEST_DEADLINE',
    status: 503,
    exit: ExitCode.transport,
    title: 'The request took longer than the server allows',
    hint: 'Retry later or ask for less (a smaller page, a narrower filter); its database work was cancelled and nothing of it was committed after the deadline. Operators can raise server.requestTimeoutMs (STELLA_SERVER_REQUEST_TIMEOUT_MS).',
  }),
  storageUnavailable: defineError({
    code: 'ERR_STORAGE_UNAVAILABLE',
    status: 503,
    exit: ExitCode.failure,
    title: 'Storage is full, read-only or unreachable',
    hint: 'Retry later. Operators: /readyz names the failing store (database or cas); free disk space, make it writable again or bring the database back, and the server recovers without a restart.',
  }),
  serverStopping: defineError({
    code: 'ERR_SERVER_STOPPING',
    status: 503,
    exit: ExitCode.transport,
    title: 'The server is shutting down',
    hint: 'Retry; another instance or the restarted server answers. Work cut off by the shutdown was not committed.',
  }),
  unsupportedMediaType: defineError({
    code: 'ERR_UNSUPPORTED_MEDIA_TYPE',
    status: 415,
    exit: ExitCode.usage,
    title: 'Unsupported content type',
    hint: 'Send the Content-Type the route documents (usually application/json).',
  }),
  conflict: defineError({
    code: 'ERR_CONFLICT',
    status: 409,
    exit: ExitCode.failure,
    title: 'Conflict with the current state',
    hint: 'Reload the resource and retry.',
  }),
  config: defineError({
    code: 'ERR_CONFIG',
    status: 500,
    exit: ExitCode.usage,
    title: 'Invalid configuration',
    hint: 'Fix the named key in the environment or stella.yaml; see docs/config.md.',
  }),
  usage: defineError({
    code: 'ERR_USAGE',
    status: 400,
    exit: ExitCode.usage,
    title: 'Invalid command usage',
    hint: 'Run the command with --help.',
  }),
  transport: defineError({
    code: 'ERR_TRANSPORT',
    status: 502,
    exit: ExitCode.transport,
    title: 'Could not reach the server',
    hint: 'Check --server / STELLA_SERVER and that `stella serve` is running.',
  }),
  fileNotFound: defineError({
    code: 'ERR_FILE_NOT_FOUND',
    status: 404,
    exit: ExitCode.notFound,
    title: 'A file or directory named on the command line cannot be read',
    hint: 'Check the path (relative paths start at the current directory) and that this user may read it; the message names the path and the reason.',
  }),
  // What the CLI reports for a server answer whose code it cannot map to an entry: no code (a proxy in
  // front of the server answered, or a non-problem body) or a code of a newer server. Picked by HTTP
  // status (404 is ERR_NOT_FOUND); the message keeps the status and the server's own code or text.
  serverRefused: defineError({
    code: 'ERR_SERVER_REFUSED',
    status: 400,
    exit: ExitCode.usage,
    title: 'The server refused the request with an answer this CLI has no code for',
    hint: "Read the status and the server's code or text in the message. An unknown ERR_ code means the server is newer than this CLI: upgrade the CLI or see docs/errors.md of the server's version; no code at all usually means a proxy in front of --server answered.",
  }),
  serverUnauthorized: defineError({
    code: 'ERR_SERVER_UNAUTHORIZED',
    status: 401,
    exit: ExitCode.auth,
    title: 'Authentication or authorization refused with an answer this CLI has no code for',
    hint: 'Check --token or the client credentials, the scopes they are allowed and --tenant; if a proxy in front of --server demands its own credentials, go past it or configure it.',
  }),
  serverFailed: defineError({
    code: 'ERR_SERVER_FAILED',
    status: 502,
    exit: ExitCode.transport,
    title: 'The server or a proxy in front of it failed with an answer this CLI has no code for',
    hint: 'Retry; if it persists, look the request up in the server log (X-Stella-Request-Id) and check any proxy between the CLI and --server.',
  }),
  rateLimited: defineError({
    code: 'ERR_RATE_LIMITED',
    status: 429,
    exit: ExitCode.failure,
    title: 'Too many requests: a rate limit refused the request',
    hint: 'Wait the Retry-After seconds named in the message and retry, or spread the requests out; operators set the router limits in the rate_limiting: block of stella.yaml.',
  }),
  unknownCode: defineError({
    code: 'ERR_UNKNOWN_CODE',
    status: 502,
    exit: ExitCode.failure,
    title: 'The server reported an error code this CLI does not know',
    hint: "The server is newer than this CLI and the message names its code: upgrade the CLI, or look the code up in docs/errors.md of the server's version.",
  }),
  cas: defineError({
    code: 'ERR_CAS_DIGEST_MISMATCH',
    status: 422,
    exit: ExitCode.verificationFailed,
    title: 'Content digest does not match',
    hint: 'The bytes were corrupted in transit or at rest; re-send or restore the object.',
  }),
  casNotFound: defineError({
    code: 'ERR_CAS_NOT_FOUND',
    status: 404,
    exit: ExitCode.notFound,
    title: 'Content-addressed object not found',
    hint: 'Check the cas:// URI; the object may have been pruned by retention.',
  }),
  timelineChain: defineError({
    code: 'ERR_TIMELINE_CHAIN_BROKEN',
    status: 409,
    exit: ExitCode.verificationFailed,
    title: 'Timeline hash chain does not verify',
    hint: 'An event was altered or removed; compare with a backup and follow the incident runbook.',
  }),
  timelineCheckpointInvalid: defineError({
    code: 'ERR_TIMELINE_CHECKPOINT_INVALID',
    status: 409,
    exit: ExitCode.verificationFailed,
    title: 'A signed timeline checkpoint does not verify',
    hint: "The checkpoint's DSSE signature or signed statement does not match the tenant's timeline keys (`stella keys list --purpose timeline`, every status): the checkpoint was altered, or its key was removed. Preserve the database, compare with a backup and follow the incident runbook.",
  }),
} as const;
