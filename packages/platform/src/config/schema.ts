// The configuration contract: one TypeBox schema with defaults and descriptions. docs/config.md is
// generated from it, and every input has an explicit byte cap here.
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

const AocSourceConfig = Type.Object(
  {
    signature: Type.Optional(
      Type.Union([Type.Literal('require'), Type.Literal('record'), Type.Literal('ignore')], {
        default: 'record',
        description:
          'require: refuse documents without a valid upstream signature (ERR_AOC_005); record: store the result; ignore: do not verify.',
      }),
    ),
    keys: Type.Optional(
      Type.Array(Type.String(), {
        default: [],
        description: 'Trusted keys: paths to armored OpenPGP public keys (CSAF .asc) or PEM public keys (DSSE).',
      }),
    ),
    kind: Type.Optional(
      Type.Union([Type.Literal('auto'), Type.Literal('advisory'), Type.Literal('vex')], {
        default: 'auto',
        description: 'Which raw store the source writes to; auto decides per document format.',
      }),
    ),
    input: Type.Optional(
      Type.String({
        default: '',
        description:
          'Scheduled connector input: a directory, an OSV zip, a CSAF provider-metadata.json or an HTTP(S) base URL. Empty: no schedule.',
      }),
    ),
    schedule: Type.Optional(
      Type.String({ default: '0 * * * *', description: 'Cron expression for the scheduled connector.' }),
    ),
    tenant: Type.Optional(
      Type.String({ default: 'default', description: 'Tenant the scheduled connector writes for.' }),
    ),
  },
  { additionalProperties: false },
);

export const ConfigSchema = Type.Object(
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
          description: 'External base URL (token issuer). Empty: http://<host>:<port>.',
        }),
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
    signals: Type.Object(
      {
        maxUploadBytes: Type.Integer({
          default: 1024 * MiB,
          minimum: 1024,
          description: 'Largest runtime-facts upload as sent (compressed; streamed, never held in memory); 413 above.',
        }),
        maxGraphBodyBytes: Type.Integer({
          default: 256 * MiB,
          minimum: 1024,
          description:
            'Largest callgraph JSON body (parsed in memory, several times its size while normalising); 413 above.',
        }),
        maxDecompressedBytes: Type.Integer({
          default: 256 * MiB,
          minimum: 1024,
          description: 'Largest decompressed runtime-facts stream (gzip bomb guard); 413 above.',
        }),
        maxLineBytes: Type.Integer({ default: 64 * 1024, minimum: 256, description: 'Largest NDJSON event line.' }),
        maxLines: Type.Integer({
          default: 1_000_000,
          minimum: 1,
          description:
            'Most lines in one runtime-facts upload, blank lines included (counted while streaming, so a body of bare newlines is refused early); 413 above.',
        }),
        maxEventsPerBatch: Type.Integer({
          default: 1_000_000,
          minimum: 1,
          description: 'Most runtime events in one upload.',
        }),
        maxHitCount: Type.Integer({
          default: 1_000_000_000,
          minimum: 1,
          description: 'Largest hitCount accepted on one event.',
        }),
        maxFutureSkewSeconds: Type.Integer({
          default: 300,
          minimum: 0,
          description: 'How far in the future an event observedAt may lie before the batch is refused.',
        }),
        maxGraphNodes: Type.Integer({ default: 5_000_000, minimum: 1, description: 'Most nodes in one callgraph.' }),
        maxGraphEdges: Type.Integer({ default: 20_000_000, minimum: 1, description: 'Most edges in one callgraph.' }),
        maxTargets: Type.Integer({ default: 100_000, minimum: 1, description: 'Most target symbols per subject.' }),
        weightEntrypoint: Type.Number({
          default: 1,
          minimum: 0,
          maximum: 1,
          description: 'Bucket weight: entrypoint.',
        }),
        weightDirect: Type.Number({ default: 0.85, minimum: 0, maximum: 1, description: 'Bucket weight: direct.' }),
        weightRuntime: Type.Number({ default: 0.45, minimum: 0, maximum: 1, description: 'Bucket weight: runtime.' }),
        weightUnknown: Type.Number({ default: 0.5, minimum: 0, maximum: 1, description: 'Bucket weight: unknown.' }),
        weightUnreachable: Type.Number({
          default: 0,
          minimum: 0,
          maximum: 1,
          description: 'Bucket weight: unreachable.',
        }),
        reachableConfidence: Type.Number({
          default: 0.75,
          minimum: 0,
          maximum: 1,
          description: 'Confidence of a static path.',
        }),
        unreachableConfidence: Type.Number({
          default: 0.25,
          minimum: 0,
          maximum: 1,
          description: 'Confidence when no path exists.',
        }),
        runtimeBonus: Type.Number({
          default: 0.15,
          minimum: 0,
          maximum: 1,
          description: 'Added when a runtime hit lies on the path.',
        }),
        minConfidence: Type.Number({
          default: 0.05,
          minimum: 0,
          maximum: 1,
          description: 'Lower clamp of confidence.',
        }),
        maxConfidence: Type.Number({
          default: 0.99,
          minimum: 0,
          maximum: 1,
          description: 'Upper clamp of confidence.',
        }),
        unknownsPressureCeiling: Type.Number({
          default: 0.35,
          minimum: 0,
          maximum: 1,
          description: 'Most the unknowns share may lower a fact score (score = mean x (1 - pressure)).',
        }),
        runtimeAbsenceIsEvidence: Type.Boolean({
          default: false,
          description:
            'Treat a target with no hits as RuntimeUnobserved when the subject has runtime facts (static reachable + unobserved becomes Contested).',
        }),
        offlineStalenessBudgetSeconds: Type.Integer({
          default: 7 * 24 * 3600,
          minimum: 0,
          description: 'Oldest time anchor the offline runtime ingest accepts (reported as staleness_seconds).',
        }),
        trustRootsPath: Type.String({
          default: '',
          description: 'File or directory of PEM public keys trusted for runtime DSSE bundles (offline verification).',
        }),
        symbolOverlayPath: Type.String({
          default: '',
          description: 'JSON file mapping advisory id to vulnerable symbols or glob patterns (operator overlay).',
        }),
        eventMaxAttempts: Type.Integer({
          default: 8,
          minimum: 1,
          description: 'Delivery attempts of a fact event to NATS before it goes to signals.fact.updated.dlq.',
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
      },
      { default: {}, additionalProperties: false },
    ),
    aoc: Type.Object(
      {
        guardEnabled: Type.Boolean({
          default: true,
          description:
            'Run the AOC write guard in code before every write (the database constraints hold regardless). Set false only for a controlled rollback. Env: AOC_GUARD_ENABLED.',
        }),
        allowSupersedesRetrofit: Type.Boolean({
          default: false,
          description:
            'At start-up, link rows written without `supersedes` (imported by SQL from an older store) into their chains. Remove after cutover. Env: AOC_ALLOW_SUPERSEDES_RETROFIT.',
        }),
        metricsEnabled: Type.Boolean({
          default: true,
          description:
            'Emit ingestion_write_total, aoc_violation_total and the other AOC metrics. Env: AOC_METRICS_ENABLED.',
        }),
        verifierClient: Type.String({
          default: 'stella-aoc-verify',
          description: 'Read-only client used by `stella aoc verify`. Env: AOC_VERIFIER_USER.',
        }),
        batchSize: Type.Integer({
          default: 200,
          minimum: 1,
          maximum: 5000,
          description: 'Documents written per transaction by connectors and NDJSON batches.',
        }),
        sources: Type.Record(Type.String({ pattern: '^[a-z0-9][a-z0-9._-]*$' }), AocSourceConfig, {
          default: {},
          description:
            'Per-vendor source settings (file only): signature policy, trusted keys and scheduled connectors.',
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    export: Type.Object(
      {
        maxActiveRuns: Type.Integer({
          default: 2,
          minimum: 1,
          maximum: 64,
          description: 'Export runs one tenant may have running at once (max_active_runs); further runs wait queued.',
        }),
        workerConcurrency: Type.Integer({
          default: 2,
          minimum: 1,
          maximum: 64,
          description: 'Export runs one worker process executes at once (all tenants).',
        }),
        quotaRunsPerDay: Type.Integer({
          default: 200,
          minimum: 0,
          description:
            'Default per-tenant quota of run submissions per UTC day; over it the API answers 429 ERR_EXPORT_QUOTA. A tenant override (`stella export quota set`) wins; 0 pauses the tenant.',
        }),
        heartbeatSeconds: Type.Integer({
          default: 30,
          minimum: 10,
          description:
            'A running export job reports every half of this; a worker silent for longer (killed) has its run retried.',
        }),
        keepaliveSeconds: Type.Integer({
          default: 15,
          minimum: 1,
          description: 'Seconds between `: keepalive` comments on the run events stream (SSE).',
        }),
        sourceDateEpoch: Type.Integer({
          default: -1,
          minimum: -1,
          description:
            'Fixed bundle timestamp (seconds since the epoch) for every tar entry and generatedAt. -1: the newest retrieved_at of the exported data. Env: SOURCE_DATE_EPOCH.',
        }),
        retentionCron: Type.String({
          default: '15 3 * * *',
          description: 'When the nightly retention pruner runs (cron, UTC).',
        }),
        keepDeltas: Type.Integer({
          default: 5,
          minimum: 0,
          description: 'Deltas kept per tenant and profile besides the latest full bundle, whatever the retention.',
        }),
        stagingDir: Type.String({
          default: '',
          description: 'Where workers assemble bundles before they are stored: empty for $STELLA_HOME/export-staging.',
        }),
        objectStore: Type.Object(
          {
            url: Type.String({
              default: '',
              description:
                'Bucket for the `object` distribution driver (s3://bucket/prefix). Empty: profiles with `object` fail with errorCode=distribution.',
            }),
            endpoint: Type.String({ default: '', description: 'S3-compatible endpoint of that bucket.' }),
            region: Type.String({ default: 'us-east-1', description: 'S3 region of that bucket.' }),
            accessKeyId: Type.String({ default: '', description: 'Access key id for that bucket.' }),
            secretAccessKey: Type.String({ default: '', description: 'Secret key for that bucket. Never logged.' }),
          },
          { default: {}, additionalProperties: false },
        ),
        oci: Type.Object(
          {
            registry: Type.String({
              default: '',
              description:
                'Registry for the `oci` distribution driver (https://host[:port], or http:// for a plain-HTTP registry on a trusted network). Empty: profiles with `oci` fail with errorCode=distribution.',
            }),
            repositoryPrefix: Type.String({
              default: 'stella/exports',
              description: 'Repository path prefix; bundles are pushed to <prefix>/<tenant>/<profile>:<exportId>.',
            }),
            username: Type.String({ default: '', description: 'Registry user (basic or token auth).' }),
            password: Type.String({ default: '', description: 'Registry password or token. Never logged.' }),
          },
          { default: {}, additionalProperties: false },
        ),
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

export type Config = Static<typeof ConfigSchema>;
export type ClientConfig = Static<typeof ClientConfig>;
export type AocSourceConfig = Static<typeof AocSourceConfig>;
