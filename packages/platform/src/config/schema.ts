// The platform's configuration sections: one TypeBox schema with defaults and descriptions. Each
// room adds its own section (config/section.ts); docs/config.md is generated from the composition,
// and every input has an explicit byte cap here or in the room's section.
import Type, { type Static } from 'typebox';

const MiB = 1024 * 1024;

const ClientConfig = Type.Object(
  {
    clientId: Type.String({ minLength: 1, description: 'OAuth2 client id.' }),
    secretHash: Type.String({
      minLength: 1,
      description: 'scrypt hash of the client secret, as printed by `stella auth hash-secret`.',
    }),
    tenants: Type.Array(Type.String(), { minItems: 1, description: 'Tenants the client may act for.' }),
    scopes: Type.Array(Type.String(), { minItems: 1, description: 'Scopes the client may request.' }),
  },
  { additionalProperties: false },
);

export const PlatformConfigSchema = Type.Object(
  {
    home: Type.String({
      default: './.stella',
      description: 'State directory: embedded database, CAS, keys and credentials. Env: STELLA_HOME.',
    }),
    server: Type.Object(
      {
        host: Type.String({ default: '127.0.0.1', description: 'Address the HTTP server binds to.' }),
        port: Type.Integer({
          default: 8440,
          minimum: 0,
          maximum: 65535,
          description: 'HTTP port (0 = any free port).',
        }),
        target: Type.Union([Type.Literal('all'), Type.Literal('api'), Type.Literal('worker')], {
          default: 'all',
          description: 'What this process runs: all (API, workers, crons), api, or worker.',
        }),
        publicUrl: Type.String({
          default: '',
          description: 'External base URL (token issuer). Empty: http://<host>:<port>, or https:// with server.tls.',
        }),
        tls: Type.Object(
          {
            certFile: Type.String({
              default: '',
              description:
                'PEM certificate chain of the listener (leaf first). Set with server.tls.keyFile to serve HTTPS only; empty: plain HTTP. Checked at start-up: unreadable, expired, not yet valid or not matching the key stops it.',
            }),
            keyFile: Type.String({ default: '', description: 'PEM private key of server.tls.certFile. Never logged.' }),
            clientCaFile: Type.String({
              default: '',
              description:
                'PEM CA certificates that client certificates must chain to. Set: the listener asks for a client certificate.',
            }),
            requireClientCert: Type.Boolean({
              default: false,
              description:
                'Refuse the TLS handshake without a client certificate signed by server.tls.clientCaFile (mutual TLS, e.g. for Signals sensors, seed 001). Bearer tokens are still checked.',
            }),
          },
          { default: {}, additionalProperties: false },
        ),
        shutdownGraceMs: Type.Integer({
          default: 10000,
          minimum: 0,
          description:
            'How long SIGTERM waits for in-flight requests and jobs. Then their database work is cancelled, connections are closed and the cut-off work is logged; a stop still unfinished 5 s later exits with status 1.',
        }),
        requestTimeoutMs: Type.Integer({
          default: 60000,
          minimum: 0,
          description:
            'Longest a request may take from its last body byte to its response headers; after it the answer is 503 ERR_REQUEST_DEADLINE and its database work is cancelled (PostgreSQL: statement cancelled; embedded PGlite: no further statement runs, a running one finishes first). Responses already streaming (SSE, downloads) are exempt, and receiving an upload counts against the Node request timeout (300 s), not this. 0: no deadline.',
        }),
        storageProbeIntervalMs: Type.Integer({
          default: 5000,
          minimum: 0,
          description:
            'How often /readyz may really write to the database and the CAS to prove they accept writes; answers in between reuse the last result. A storage error seen by a request turns readiness 503 at once either way.',
        }),
        docsUi: Type.Boolean({ default: true, description: 'Serve the API docs UI at /docs.' }),
      },
      { default: {}, additionalProperties: false },
    ),
    database: Type.Object(
      {
        url: Type.String({
          default: '',
          description:
            'PostgreSQL 15+ URL (postgres://user:pass@host/db). Empty: embedded PGlite in $STELLA_HOME/pg. Connect as a non-superuser role.',
        }),
        poolSize: Type.Integer({ default: 10, minimum: 1, maximum: 200, description: 'PostgreSQL pool size.' }),
        appRole: Type.String({
          default: 'stella_app',
          pattern: '^[a-z_][a-z0-9_]*$',
          description: 'Non-superuser role the embedded database switches to, so row-level security applies.',
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    cas: Type.Object(
      {
        url: Type.String({
          default: '',
          description: 'Content-addressed storage: empty for $STELLA_HOME/cas, or s3://bucket/prefix.',
        }),
        endpoint: Type.String({ default: '', description: 'S3-compatible endpoint URL (MinIO, Ceph, ...).' }),
        region: Type.String({ default: 'us-east-1', description: 'S3 region.' }),
        accessKeyId: Type.String({ default: '', description: 'S3 access key id (empty: SDK default chain).' }),
        secretAccessKey: Type.String({ default: '', description: 'S3 secret access key. Never logged.' }),
        gcCron: Type.String({
          default: '45 3 * * *',
          description:
            'When the collector of unreferenced CAS objects runs (cron, UTC); `stella cas gc` runs it at once.',
        }),
        gcGraceSeconds: Type.Integer({
          default: 86_400,
          minimum: 3_600,
          description:
            'Unreferenced CAS objects younger than this are kept: a write and the row that references it commit apart.',
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    redis: Type.Object(
      {
        url: Type.String({
          default: '',
          description: 'Redis/Valkey URL for environment-wide rate limits (redis://host:6379). Empty: off.',
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    limits: Type.Object(
      {
        requestBodyBytes: Type.Integer({
          default: 10 * MiB,
          minimum: 1024,
          description: 'Largest accepted request body (413 above).',
        }),
        ndjsonLineBytes: Type.Integer({ default: 1 * MiB, minimum: 256, description: 'Largest NDJSON line.' }),
        decompressedBytes: Type.Integer({
          default: 256 * MiB,
          minimum: 1024,
          description: 'Largest decompressed size of a gzip/zstd body or archive (bomb guard).',
        }),
        documentBytes: Type.Integer({
          default: 16 * MiB,
          minimum: 1024,
          description: 'Largest single advisory/VEX/SBOM document.',
        }),
        archiveEntries: Type.Integer({
          default: 100000,
          minimum: 1,
          description: 'Most entries read from one archive.',
        }),
        jsonDepth: Type.Integer({
          default: 128,
          minimum: 8,
          maximum: 4096,
          description:
            'Deepest nesting of objects and arrays in any JSON body, envelope or upstream document (ERR_LIMIT_JSON_DEPTH above).',
        }),
        jsonKeys: Type.Integer({
          default: 50_000,
          minimum: 16,
          description: 'Most members of one JSON object (ERR_LIMIT_JSON_KEYS above).',
        }),
        jsonStringLength: Type.Integer({
          default: 4 * MiB,
          minimum: 1024,
          description: 'Longest JSON string, key or value, in characters (ERR_LIMIT_STRING_LENGTH above).',
        }),
        identifierLength: Type.Integer({
          default: 1024,
          minimum: 64,
          maximum: 1536,
          description:
            "Longest identifier: path ids, query values, upstream ids and the record ids built from them (ERR_LIMIT_IDENTIFIER_LENGTH above). Ids longer than this are refused at ingest, so every stored record stays readable by URL. At most 1536: a percent-encoded id must fit Node's 16 KiB request-header limit.",
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    auth: Type.Object(
      {
        tokenTtlSeconds: Type.Integer({
          default: 300,
          minimum: 30,
          maximum: 3600,
          description: 'Access token lifetime (the spec asks for 2-5 minutes).',
        }),
        clockSkewSeconds: Type.Integer({
          default: 30,
          minimum: 0,
          maximum: 300,
          description: 'Tolerance for exp/nbf checks.',
        }),
        audience: Type.String({
          default: 'stella',
          description: 'Audience (aud) tokens are issued for and checked against.',
        }),
        tenantHeader: Type.String({
          default: 'X-Stella-Tenant',
          description: 'Tenant header name (X-StellaOps-Tenant is always accepted too). Env: AOC_TENANT_HEADER.',
        }),
        externalIssuer: Type.String({
          default: '',
          description: 'Issuer URL of an external OIDC provider that replaces the built-in one.',
        }),
        externalJwksUrl: Type.String({ default: '', description: 'JWKS URL of the external issuer.' }),
        verifierClient: Type.String({
          default: 'stella-aoc-verify',
          pattern: '^[a-zA-Z0-9][a-zA-Z0-9._-]{0,127}$',
          description:
            "The read-only AOC verifier client (seed 004 §3): created by the first start's bootstrap under this id, used by `stella aoc verify` and the offline kit's verifier. Set it before the first start. Env: AOC_VERIFIER_USER.",
        }),
        bootstrap: Type.Boolean({
          default: true,
          description: 'On first start create tenant `default` with clients stella-admin and stella-aoc-verify.',
        }),
        clients: Type.Array(ClientConfig, { default: [], description: 'Extra OAuth2 clients (file only).' }),
        kek: Type.String({
          default: '',
          description:
            'Key-encryption key sealing the private signing keys stored in the database: 32 random bytes in base64 (`openssl rand -base64 32`). Set it in the environment, not in stella.yaml. Empty: read auth.kekPath. Secret; redacted by `stella config show`.',
        }),
        kekPath: Type.String({
          default: '',
          description:
            'File holding the key-encryption key (base64). Empty: $STELLA_HOME/keys/kek, created 0600 on first start. Back it up apart from the database; without it the stored signing keys cannot be used.',
        }),
        tokenFailuresBeforeBackoff: Type.Integer({
          default: 5,
          minimum: 1,
          maximum: 1000,
          description:
            'Failed client authentications at /token per client id and source address before each further one waits 1, 2, 4 … s (429 slow_down with Retry-After). A client presenting its correct secret is not held up.',
        }),
        tokenBackoffMaxSeconds: Type.Integer({
          default: 300,
          minimum: 1,
          maximum: 86400,
          description: 'Longest back-off after failed client authentications.',
        }),
        sessionTtlSeconds: Type.Integer({
          default: 28800,
          minimum: 300,
          maximum: 604800,
          description:
            'How long a console sign-in lasts: while it does, the console gets new tokens from /authorize without asking for the password again. Signing out, a new password or disabling the user ends it sooner.',
        }),
        consoleOrigins: Type.Array(Type.String({ pattern: '^https?://[^/?#]+$' }), {
          default: [],
          description:
            "Other origins (scheme://host[:port]) whose stella console may sign in with this server's authority: /authorize accepts their /console/callback, and /token answers them with CORS. The console there sets console.oidc to this server. Its own origin (server.publicUrl) needs no entry.",
        }),
        secretCheckConcurrency: Type.Integer({
          default: 2,
          minimum: 1,
          maximum: 64,
          description:
            'Client-secret scrypt checks running at once (about 32 MiB and tens of ms each, on the shared libuv thread pool); further ones queue.',
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    metrics: Type.Object(
      {
        port: Type.Integer({
          default: -1,
          minimum: -1,
          maximum: 65535,
          description:
            'Port of a separate listener serving GET /metrics without authentication (0 = any free port). -1: none; /metrics on the API port needs a bearer token with scope metrics:read.',
        }),
        host: Type.String({
          default: '127.0.0.1',
          description: 'Address the separate metrics listener binds to. Keep it on loopback or a private network.',
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    nats: Type.Object(
      {
        url: Type.String({
          default: '',
          description:
            'NATS server with JetStream for fact events (nats://host:4222). Empty: in-process subscribers only.',
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    log: Type.Object(
      {
        level: Type.Union(
          ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
          { default: 'info', description: 'Log level (logs go to stderr as JSON lines).' },
        ),
      },
      { default: {}, additionalProperties: false },
    ),
    telemetry: Type.Object(
      {
        tracing: Type.Object(
          {
            enabled: Type.Boolean({
              default: false,
              description:
                'Export OpenTelemetry traces (HTTP request, SQL statement and queue job spans) over OTLP/HTTP. Off: the SDK is not even loaded, and problem+json traceId is the request id.',
            }),
            otlpEndpoint: Type.String({
              default: '',
              maxLength: 2048,
              pattern: '^(https?://.+)?$',
              description:
                'OTLP/HTTP traces URL, path included (http://127.0.0.1:4318/v1/traces). Empty: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces, else http://localhost:4318/v1/traces. Collector headers and certificates come from the standard OTEL_EXPORTER_OTLP_* variables.',
            }),
            serviceName: Type.String({
              default: 'stella',
              minLength: 1,
              maxLength: 256,
              description:
                'service.name of the exported spans; tell processes apart with distinct names or by their service.instance.id.',
            }),
            sampleRatio: Type.Number({
              default: 1,
              minimum: 0,
              maximum: 1,
              description:
                "Share of new traces recorded (0-1). A request carrying a W3C traceparent follows the caller's sampling decision instead.",
            }),
          },
          { default: {}, additionalProperties: false },
        ),
      },
      { default: {}, additionalProperties: false },
    ),
    queue: Type.Object(
      {
        retryLimit: Type.Integer({ default: 5, minimum: 0, description: 'Retries before a job is dead-lettered.' }),
        retryDelaySeconds: Type.Integer({
          default: 5,
          minimum: 1,
          description: 'First retry delay (doubles each try).',
        }),
        retryDelayMaxSeconds: Type.Integer({ default: 3600, minimum: 1, description: 'Longest retry delay.' }),
        superviseIntervalSeconds: Type.Integer({
          default: 60,
          minimum: 1,
          description:
            'How often the queue supervisor retries jobs whose worker stopped reporting (killed process) or that expired.',
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    timeline: Type.Object(
      {
        pageSize: Type.Integer({ default: 100, minimum: 1, maximum: 1000, description: 'Default page size.' }),
        checkpointIntervalSeconds: Type.Integer({
          default: 3600,
          minimum: 60,
          description:
            "How often each tenant's chain head is signed (a DSSE checkpoint with the tenant's `timeline` key), when it moved since the last one. Also on demand: `stella timeline checkpoint`.",
        }),
        retentionDays: Type.Integer({
          default: 0,
          minimum: 0,
          description:
            'Days timeline events are kept; 0 keeps them forever. A daily job (04:30 UTC) and `stella timeline prune` delete older events only up to the newest checkpoint signed before the cutoff, so `stella timeline verify` still proves the rest from that checkpoint.',
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    rateLimiting: Type.Unknown({
      default: null,
      description:
        'Router rate limiting, in the spec YAML shape (`rate_limiting:` block; file only). Empty: no limits.',
    }),
  },
  { additionalProperties: false },
);

export type PlatformConfig = Static<typeof PlatformConfigSchema>;
export type ClientConfig = Static<typeof ClientConfig>;
