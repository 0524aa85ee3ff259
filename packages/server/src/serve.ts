// Composes the rooms into one process: `all` (API, workers, crons), `api` or `worker`. Start-up is
// ordered (database, migrations, storage, queue, rooms, HTTP) and shutdown drains in reverse.
import { join } from 'node:path';
import { jwks } from '@stella/authority';
import { type Clock, Errors, StellaError, systemClock } from '@stella/core';
import {
  type BlobStore,
  type Config,
  type Ctx,
  compileRateLimitConfig,
  counter,
  createBlobStore,
  createHttpApp,
  createJobQueue,
  createLogger,
  createMetricsRegistry,
  createOutboxDispatcher,
  createRateLimiter,
  createTimeline,
  createTokenVerifier,
  createValkeyClient,
  type Db,
  type HttpApp,
  type Logger,
  type Module,
  migrate,
  openDatabase,
  registerQueueMetrics,
  type TokenVerifier,
} from '@stella/platform';
import pkg from '../package.json' with { type: 'json' };
import { lockHome, prepareHome } from './home.ts';
import { modules as defaultModules } from './modules.ts';

export const VERSION = pkg.version;

export interface ServeOptions {
  config: Config;
  logger?: Logger;
  modules?: readonly Module[];
  clock?: Clock;
}

export interface RunningServer {
  url: string;
  app: HttpApp;
  ctx: Ctx;
  credentialsPath: string;
  close(): Promise<void>;
}

// Outbox rows wait at most this long for delivery; a second keeps subscribers near-live without
// polling the database hard.
const OUTBOX_INTERVAL_MS = 1000;

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const { config } = options;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger({ level: config.log.level });
  const target = config.server.target;
  const cleanups: (() => Promise<void> | void)[] = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse())
      await Promise.resolve(fn()).catch((e) => logger.warn({ err: e }, 'shutdown step failed'));
    cleanups.length = 0;
  };

  try {
    prepareHome(config.home);
    if (!config.database.url) cleanups.push(lockHome(config.home));

    const db: Db = await openDatabase(config);
    cleanups.push(() => db.close());
    const moduleList = options.modules ?? defaultModules;
    const report = await migrate(
      db,
      moduleList.flatMap((m) =>
        m.migrations ? [{ module: m.name, migrations: m.migrations, dependsOn: m.dependsOn }] : [],
      ),
    );
    if (report.applied.length) logger.info({ applied: report.applied }, 'migrations applied');

    const blobs: BlobStore = createBlobStore(
      config.cas.url
        ? {
            kind: 's3',
            url: config.cas.url,
            endpoint: config.cas.endpoint || undefined,
            region: config.cas.region,
            accessKeyId: config.cas.accessKeyId || undefined,
            secretAccessKey: config.cas.secretAccessKey || undefined,
          }
        : { kind: 'fs', root: join(config.home, 'cas') },
    );

    const metrics = createMetricsRegistry();
    const queueErrors = counter(metrics, 'stella_queue_errors_total', 'Background queue errors');
    const queue = createJobQueue(db, {
      retryLimit: config.queue.retryLimit,
      retryDelaySeconds: config.queue.retryDelaySeconds,
      retryDelayMaxSeconds: config.queue.retryDelayMaxSeconds,
      superviseIntervalSeconds: config.queue.superviseIntervalSeconds,
      onError: (error: unknown) => {
        queueErrors.inc();
        logger.error({ err: error }, 'job queue error');
      },
    });
    await queue.start();
    registerQueueMetrics(metrics, queue);
    cleanups.push(() => queue.stop({ graceMs: config.server.shutdownGraceMs }));

    const timeline = createTimeline(db, clock);
    const outboxDelivered = counter(metrics, 'stella_outbox_delivered_total', 'Outbox messages delivered');
    const outboxErrors = counter(metrics, 'stella_outbox_errors_total', 'Outbox delivery failures (retried)');
    const outbox = createOutboxDispatcher(db, (error) => {
      outboxErrors.inc();
      logger.warn({ err: error }, 'outbox delivery failed; will retry');
    });

    let publicUrl = config.server.publicUrl;
    // The issuer is this server's URL, known only once it listens (port 0 picks one), so requests
    // reach the real verifier through this indirection; none arrive before listen().
    let tokenVerifier: TokenVerifier | undefined;
    const verifier: TokenVerifier = { verify: (token) => tokenVerifier!.verify(token) };
    const makeVerifier = () =>
      createTokenVerifier({
        issuer: config.auth.externalIssuer || publicUrl,
        audience: config.auth.audience,
        clockSkewSeconds: config.auth.clockSkewSeconds,
        keys: config.auth.externalJwksUrl
          ? { kind: 'remote', jwksUrl: config.auth.externalJwksUrl }
          : { kind: 'local', jwks: () => jwks(db, clock.now()) },
        now: () => clock.now(),
      });

    let rateLimiter: ReturnType<typeof createRateLimiter> | undefined;
    let redis: ReturnType<typeof createValkeyClient> | undefined;
    if (config.rateLimiting) {
      const compiled = compileRateLimitConfig(config.rateLimiting);
      const connection = config.redis.url || compiled.environment?.connection;
      if (connection) {
        redis = createValkeyClient(connection);
        cleanups.push(() => redis?.quit().then(() => undefined));
      }
      rateLimiter = createRateLimiter(compiled, { redis, registry: metrics });
      cleanups.push(() => rateLimiter?.close());
    }

    const { app, readiness } = await createHttpApp({
      logger,
      registry: metrics,
      requestBodyBytes: config.limits.requestBodyBytes,
      limits: config.limits,
      tenantHeader: config.auth.tenantHeader,
      verifier,
      rateLimiter,
      db,
      docsUi: config.server.docsUi,
      version: VERSION,
    });
    readiness.addCheck('database', () => db.ping());
    // A head of an object that never exists proves the store (directory or bucket) answers.
    readiness.addCheck('cas', async () => {
      await blobs.head(`cas://platform/${'0'.repeat(64)}`);
    });
    if (redis) {
      const client = redis;
      readiness.addCheck('redis', async () => {
        await client.ping();
      });
    }

    const ctx: Ctx = {
      config,
      db,
      blobs,
      queue,
      timeline,
      outbox,
      metrics,
      logger,
      clock,
      readiness,
      publicUrl: () => publicUrl,
    };
    for (const m of moduleList) await m.start?.(ctx);
    if (target !== 'worker') for (const m of moduleList) await m.routes?.(app, ctx);
    if (target !== 'api') {
      for (const m of moduleList) await m.jobs?.(queue, ctx);
      outbox.subscribe('*', async () => {
        outboxDelivered.inc();
      });
      outbox.start(OUTBOX_INTERVAL_MS);
      cleanups.push(() => outbox.stop());
    }

    const address = await app.listen({ host: config.server.host, port: config.server.port }).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
      throw new StellaError(
        Errors.config,
        `${config.server.host}:${config.server.port} is already in use: stop the other server or choose another port (--port, STELLA_SERVER_PORT)`,
        { cause: error },
      );
    });
    cleanups.push(async () => {
      // Requests still running after the grace period are cut off rather than holding the process.
      const cutoff = setTimeout(() => app.server.closeAllConnections(), config.server.shutdownGraceMs);
      try {
        await app.close();
      } finally {
        clearTimeout(cutoff);
      }
    });
    const port = app.server.address();
    const listening =
      typeof port === 'object' && port ? `http://${hostForUrl(config.server.host)}:${port.port}` : address;
    publicUrl ||= listening;
    tokenVerifier = makeVerifier();
    readiness.markStarted();
    logger.info({ url: listening, target, backend: db.backend }, 'stella listening');

    return {
      url: listening,
      app,
      ctx,
      credentialsPath: join(config.home, 'credentials.json'),
      async close() {
        readiness.markStopping();
        await cleanup();
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

function hostForUrl(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
