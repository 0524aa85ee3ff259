// @stella/platform: the hallway every room opens on: config, database, CAS, queue, HTTP, auth,
// rate limits, metrics, logging and the timeline.
// The door lists by name what other packages use; everything else stays inside the room.
export type { Scope, TokenVerifier } from './auth/index.ts';
export {
  AuthErrors,
  createTokenVerifier,
  isKnownScope,
  quoteScope,
  SCOPES,
  sortScopes,
  validateScopeSet,
} from './auth/index.ts';
export type { BlobReferences, BlobStore, CasMaintenance, TenantBlobs } from './blob/index.ts';
export {
  createCasMaintenance,
  createFsBlobStore,
  createS3BlobStore,
  formatCasUri,
  openBlobStore,
  parseCasUri,
  parseS3Url,
  tenantBlobs,
} from './blob/index.ts';
export type { ApiClient, CliCtx, CliIo, GlobalOptions } from './cli/index.ts';
export {
  CliError,
  counterOnStderr,
  createApiClient,
  credentialsPath,
  exitCodeOf,
  localServerUrl,
  log,
  printResult,
  verifierClientId,
} from './cli/index.ts';
export type {
  ClientConfig,
  Config,
  ConfigSection,
  LoadConfigOptions,
  LoadedConfig,
  RoomConfig,
} from './config/index.ts';
export { assertConfigSections, defineConfigSection, loadConfig, renderConfigDocs } from './config/index.ts';
export type { Db, MigrationReport, Queryable, Tx, Work, WorkTracker } from './db/index.ts';
export {
  CAPABILITIES,
  copyTextRow,
  createWorkTracker,
  currentWork,
  describeWork,
  migrate,
  openDatabase,
  openPglite,
  openPostgres,
  runInWork,
  textArrayLiteral,
} from './db/index.ts';
export { isProcessRunning, lockHome } from './home/lock.ts';
export type { FastifyReply, FastifyRequest, HttpApp, Logger, StorageHealth } from './http/index.ts';
export {
  callerTraceId,
  checkRequestText,
  createHttpApp,
  createLogger,
  createStorageHealth,
  decodeCursor,
  encodeCursor,
  guardBlobStore,
  guardDb,
  headerValue,
  tenantOf,
  tlsServerOptions,
} from './http/index.ts';
export type { Registry } from './metrics/index.ts';
export {
  counter,
  createMetricsRegistry,
  gauge,
  histogram,
  labelBound,
  OTHER_LABEL,
  startMetricsListener,
} from './metrics/index.ts';
export type { Ctx, Module } from './module.ts';
export { configSectionsOf, migrateModules } from './module.ts';
export { platformModule } from './platform-module.ts';
export type { DeadLetter, JobHandler, JobQueue, WorkOptions } from './queue/index.ts';
export { createJobQueue, queueAttemptMetrics, registerQueueMetrics } from './queue/index.ts';
export { compileRateLimitConfig, createRateLimiter, createValkeyClient } from './ratelimit/index.ts';
export type {
  KeyEncryptionKey,
  PlatformSigner,
  PublicSigningKey,
  SigningAlgorithm,
  SigningKeyStore,
} from './signing/index.ts';
export {
  attachKeyEncryptionKey,
  createSigningKeyStore,
  generateKeyEncryptionKeyText,
  KeyErrors,
  keyEncryptionKeyFor,
  keyIdOf,
  loadKeyEncryptionKey,
  parseKeyEncryptionKey,
  sealedKekId,
  sealedSigningKeyKekIds,
  sealPlaintextSigningKeys,
} from './signing/index.ts';
export type { Tracing, TracingSettings } from './telemetry/index.ts';
export { requestTraceId, startTracing } from './telemetry/index.ts';
export type { OutboxHandler, Timeline } from './timeline/index.ts';
export { createOutboxDispatcher, createTimeline } from './timeline/index.ts';
