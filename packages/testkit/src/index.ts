// @stella/testkit: real dependencies for tests (databases, redis-server, s3rver), started on loopback
// in temporary directories and stopped by the tests themselves.

export { findExecutable } from './binaries.ts';
export type { RoomCtxOptions } from './ctx.ts';
export { migrateRooms, roomCtx } from './ctx.ts';
export type { TestBackend, TestDb } from './db.ts';
export { testBackend, testDb } from './db.ts';
export { advisoryFixtures, advisoryFixturesUrl } from './fixtures.ts';
export type { GoToolName, GoToolResult } from './go-tools.ts';
export { goTool, runGoTool } from './go-tools.ts';
export type { GrafanaDashboard, GrafanaPanel, GrafanaTarget } from './grafana.ts';
export {
  assertGrafanaDashboard,
  exposedSeriesNames,
  GRAFANA_DATASOURCE_UID,
  grafanaPanels,
  promqlMetricNames,
} from './grafana.ts';
export type { NatsServer } from './nats.ts';
export { findNatsServer, startNats } from './nats.ts';
export type { PostgresCluster } from './postgres.ts';
export { APP_ROLE, createDatabase, findPostgresBin, freePort, startPostgres } from './postgres.ts';
export type { Prerequisite } from './prerequisites.ts';
export {
  debianPackages,
  installLine,
  locateExecutable,
  missingPrerequisites,
  PREREQUISITES,
  renderPrerequisites,
  spliceReadmePrerequisites,
} from './prerequisites.ts';
export type { RedisServer } from './redis.ts';
export { startRedis } from './redis.ts';
export type { RegistryServer, SkopeoResult } from './registry.ts';
export { findRegistryServer, findSkopeo, runSkopeo, startRegistry } from './registry.ts';
export type { S3Server } from './s3.ts';
export { startS3 } from './s3.ts';
export { scratchDir } from './scratch.ts';
export type {
  TrivyAdvisory,
  TrivyCounts,
  TrivyCvss,
  TrivyDataSource,
  TrivyFinding,
  TrivyVulnerability,
} from './trivycheck.ts';
export { TrivyCheckError, trivyCheck, trivyCheckFailure, trivyLookup, trivyOsLookup } from './trivycheck.ts';
export type { WaitOptions } from './wait.ts';
export { waitFor } from './wait.ts';
