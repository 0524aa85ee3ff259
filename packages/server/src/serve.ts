// Composes the rooms into one process: `all` (API, workers, crons), `api` or `worker`. Start-up is
// ordered (database, migrations, storage, queue, rooms, HTTP) and shutdown drains in reverse: requests
// and jobs get server.shutdownGraceMs, then their database work is cancelled and their connections
// closed, and close() gives up SHUTDOWN_MARGIN_MS later, naming what was still running.
import { join } from 'node:path';
import { jwks, tenantGateFor } from '@stella/authority';
import { type Clock, Errors, STELLA_VERSION, StellaError, systemClock } from '@stella/core';
import {
  assertConfigSections,
  type BlobStore,
  type Config,
  type Ctx,
  compileRateLimitConfig,
  configSectionsOf,
  counter,
  createCasMaintenance,
  createHttpApp,
  createJobQueue,
  createLogger,
  createMetricsRegistry,
  createOutboxDispatcher,
  createRateLimiter,
  createStorageHealth,
  createTimeline,
  createTokenVerifier,
  createValkeyClient,
  createWorkTracker,
  type Db,
  describeWork,
  guardBlobStore,
  guardDb,
  type HttpApp,
  type JobHandler,
  type JobQueue,
  type Logger,
  type Module,
  migrateModules,
  openBlobStore,
  openDatabase,
  queueAttemptMetrics,
  registerQueueMetrics,
  runInWork,
  type StorageHealth,
  startMetricsListener,
  startTracing,
  type TokenVerifier,
  tenantBlobs,
  tlsServerOptions,
  type WorkOptions,
  type WorkTracker,
} from '@stella/platform';
import { lockHome, prepareHome, tightenDatabaseFiles } from './home.ts';
import { modules as defaultModules } from './modules.ts';

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
  /** The unauthenticated metrics listener (metrics.port), when configured. */
  metricsUrl: string | undefined;
  /** Requests and jobs in flight, and the shutdown step under way: what a stuck stop is waiting for. */
  inFlight(): string[];
  /**
   * Drains and stops. Work still running after server.shutdownGraceMs is cancelled and logged; if the
   * stop is still unfinished SHUTDOWN_MARGIN_MS later this rejects, naming what it waits for (the
   * process should then exit: something holds on, e.g. a handler that ignores cancellation).
   */
  close(): Promise<void>;
}

// After the grace period, cut-off work gets this long to unwind (cancelled statements, failed jobs,
// closed connections, closing the database) before close() gives up. Short enough that grace plus
// margin stays under systemd's 90 s stop timeout with the default grace of 10 s.
export const SHUTDOWN_MARGIN_MS = 5000;
// A CAS object the readiness probe writes and deletes; its own namespace keeps it out of every room's listings.
const CAS_PROBE_NAMESPACE = 'platform/probe';
const CAS_PROBE_BODY = new TextEncoder().encode('stella storage probe\n');

// Outbox rows wait at most this long for delivery; a second keeps subscribers near-live without
// polling the database hard.
const OUTBOX_INTERVAL_MS = 1000;

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const { config } = options;
  // A configuration loaded without a mounted room's section fails here, before anything opens.
  assertConfigSections(config, configSectionsOf(options.modules ?? defaultModules));
  // A bad certificate stops start-up here, before the database or any port is touched.
  const tls = tlsServerOptions(config.server.tls, (options.clock ?? systemClock).now());
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger({ level: config.log.level });
  const target = config.server.target;
  const cleanups: { step: string; run: () => Promise<void> | void }[] = [];
  let currentStep: string | undefined;
  const cleanup = async () => {
    for (const { step, run } of cleanups.reverse()) {
      currentStep = step;
      await Promise.resolve()
        .then(run)
        .catch((e) => logger.warn({ err: e, step }, 'shutdown step failed'));
    }
    currentStep = undefined;
    cleanups.length = 0;
  };
  const work: WorkTracker = createWorkTracker();
  const storage: StorageHealth = createStorageHealth({
    logger,
    probeIntervalMs: config.server.storageProbeIntervalMs,
  });

  try {
    // Off by default; when on, the first cleanup pushed, so the last to run: it flushes the spans of
    // everything stopped before it.
    const tracing = await startTracing(config.telemetry.tracing, { logger, target });
    if (tracing) cleanups.push({ step: 'flushing traces', run: () => tracing.shutdown() });
    prepareHome(config.home, logger);
    if (!config.database.url) {
      const unlock = lockHome(config.home);
      cleanups.push({ step: 'releasing the home lock', run: unlock });
    }

    const database: Db = await openDatabase(config);
    cleanups.push({ step: 'closing the database', run: () => database.close() });
    // A new PGlite data directory is unpacked with 0666/0644 modes the umask does not reach.
    if (!config.database.url) tightenDatabaseFiles(config.home, logger);
    // Every room reaches storage through these: a full or read-only store answers 503 and turns readiness 503.
    const guarded = guardDb(database, storage);
    // With tracing on, statements inside a request or job are spans of its trace.
    const db = tracing?.traceDb(guarded) ?? guarded;
    const moduleList = options.modules ?? defaultModules;
    const report = await migrateModules(db, moduleList);
    if (report.applied.length) logger.info({ applied: report.applied }, 'migrations applied');

    const blobStore: BlobStore = openBlobStore(config);

    const blobs = guardBlobStore(blobStore, storage);

    const metrics = createMetricsRegistry();
    // Objects written before CAS keys carried the tenant move under `tenants/<tenant>/` before any room
    // starts (once; resumable: a process killed mid-way finishes the move at its next start).
    const cas = createCasMaintenance({
      db,
      store: blobs,
      sources: moduleList.flatMap((m) => (m.blobReferences ? [m.blobReferences] : [])),
      logger,
      clock,
      metrics,
    });
    await cas.migrateLayout();
    const queueErrors = counter(metrics, 'stella_queue_errors_total', 'Background queue errors');
    const queue = createJobQueue(db, {
      retryLimit: config.queue.retryLimit,
      retryDelaySeconds: config.queue.retryDelaySeconds,
      retryDelayMaxSeconds: config.queue.retryDelayMaxSeconds,
      superviseIntervalSeconds: config.queue.superviseIntervalSeconds,
      tracing: tracing?.queue,
      onAttempt: queueAttemptMetrics(metrics),
      onError: (error: unknown) => {
        queueErrors.inc();
        // Polling a full or read-only database fails every few seconds: logged once, by the storage health.
        if (storage.report(error)?.store) return;
        logger.error({ err: error }, 'job queue error');
      },
    });
    await queue.start();
    registerQueueMetrics(metrics, queue);
    cleanups.push({
      step: 'stopping the job queue',
      run: () => queue.stop({ graceMs: config.server.shutdownGraceMs }),
    });
    const jobs = trackJobs(queue, work, storage, logger);

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
        cleanups.push({ step: 'closing the Redis connection', run: () => redis?.quit().then(() => undefined) });
      }
      rateLimiter = createRateLimiter(compiled, { redis, registry: metrics });
      cleanups.push({ step: 'stopping the rate limiter', run: () => rateLimiter?.close() });
    }

    const tenantGate = tenantGateFor(db);
    const { app, readiness } = await createHttpApp({
      logger,
      tls,
      tenantGate: (tenant) => tenantGate.check(tenant),
      registry: metrics,
      requestBodyBytes: config.limits.requestBodyBytes,
      limits: config.limits,
      tenantHeader: config.auth.tenantHeader,
      verifier,
      rateLimiter,
      db,
      docsUi: config.server.docsUi,
      version: STELLA_VERSION,
      requestDeadlineMs: config.server.requestTimeoutMs,
      work,
      storage,
      tracing,
    });
    // Both stores must answer (checked on every call, cheaply) and accept a write (probed at most once
    // per server.storageProbeIntervalMs). The write probe goes first: it is what reopens an embedded
    // database stopped by a PANIC, which the answer check alone would never get past.
    const databaseWrites = storage.check('database', () => database.probeWrite());
    readiness.addCheck('database', async () => {
      await databaseWrites();
      await database.ping();
    });
    const casWrites = storage.check('cas', async () => {
      const { uri } = await blobStore.put(CAS_PROBE_NAMESPACE, CAS_PROBE_BODY);
      await blobStore.delete(uri);
    });
    readiness.addCheck('cas', async () => {
      await casWrites();
      // A head of an object that never exists proves the store (directory or bucket) answers.
      await blobStore.head(`cas://platform/${'0'.repeat(64)}`);
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
      blobs: tenantBlobs(blobs),
      cas,
      queue: jobs,
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
      for (const m of moduleList) await m.jobs?.(jobs, ctx);
      outbox.subscribe('*', async () => {
        outboxDelivered.inc();
      });
      outbox.start(OUTBOX_INTERVAL_MS);
      cleanups.push({ step: 'stopping the outbox', run: () => outbox.stop() });
    }

    const address = await app.listen({ host: config.server.host, port: config.server.port }).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
      throw new StellaError(
        Errors.config,
        `${config.server.host}:${config.server.port} is already in use: stop the other server or choose another port (--port, STELLA_SERVER_PORT)`,
        { cause: error },
      );
    });
    cleanups.push({
      step: 'draining requests and jobs',
      // Workers stop fetching at once and drain beside the requests, within the same grace period.
      run: async () => {
        await Promise.all([app.close(), queue.stop({ graceMs: config.server.shutdownGraceMs })]);
      },
    });
    let metricsUrl: string | undefined;
    if (config.metrics.port >= 0) {
      const listener = await startMetricsListener({
        registry: metrics,
        host: config.metrics.host,
        port: config.metrics.port,
      });
      cleanups.push({ step: 'closing the metrics listener', run: () => listener.close() });
      metricsUrl = listener.url;
      logger.info({ url: metricsUrl }, 'metrics listener (no authentication)');
    }
    const port = app.server.address();
    const listening =
      typeof port === 'object' && port
        ? `${tls ? 'https' : 'http'}://${hostForUrl(config.server.host)}:${port.port}`
        : address;
    publicUrl ||= listening;
    tokenVerifier = makeVerifier();
    readiness.markStarted();
    logger.info({ url: listening, target, backend: db.backend }, 'stella listening');

    const inFlight = () => [
      ...work.inFlight().map((w) => describeWork(w)),
      ...(currentStep ? [`shutdown step: ${currentStep}`] : []),
    ];
    let closing: Promise<void> | undefined;
    const stop = async () => {
      readiness.markStopping();
      const graceMs = config.server.shutdownGraceMs;
      const cutOff = setTimeout(() => {
        const cut = work.inFlight();
        if (cut.length) {
          logger.warn(
            { graceMs, cutOff: cut.map((w) => describeWork(w)) },
            `shutdown grace period of ${graceMs} ms is over: cancelling ${cut.map((w) => describeWork(w)).join(', ')}`,
          );
        }
        work.abortAll(
          new StellaError(Errors.serverStopping, `cut off by shutdown after the grace period of ${graceMs} ms`),
        );
        app.server.closeAllConnections();
      }, graceMs);
      let giveUp: NodeJS.Timeout | undefined;
      const stuck = new Promise<never>((_, reject) => {
        giveUp = setTimeout(() => {
          const waiting = inFlight();
          reject(
            new Error(
              `shutdown unfinished ${SHUTDOWN_MARGIN_MS} ms after the grace period of ${graceMs} ms; still running: ${waiting.join('; ') || 'nothing tracked'}`,
            ),
          );
        }, graceMs + SHUTDOWN_MARGIN_MS);
      });
      try {
        await Promise.race([cleanup(), stuck]);
      } finally {
        clearTimeout(cutOff);
        clearTimeout(giveUp);
      }
    };

    return {
      url: listening,
      app,
      ctx,
      credentialsPath: join(config.home, 'credentials.json'),
      metricsUrl,
      inFlight,
      close() {
        closing ??= stop();
        return closing;
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/**
 * The queue rooms see: each job runs as tracked work (its database calls are cancelled at the end of
 * the shutdown grace period, and a stuck stop names it), and a job failing on a full or read-only
 * store turns readiness 503.
 */
/** Tracks each job as work in flight, and logs a failed one (it is retried, then dead-lettered). */
function trackJobs(queue: JobQueue, work: WorkTracker, storage: StorageHealth, logger: Logger): JobQueue {
  return {
    ...queue,
    work<T>(name: string, handler: JobHandler<T>, options?: WorkOptions) {
      return queue.work<T>(
        name,
        async (job) => {
          const current = work.begin(String(job.id), `job ${name}`);
          try {
            return await runInWork(current, () => handler(job));
          } catch (error) {
            // A storage fault is logged once by the storage health; anything else is this job's own.
            if (!storage.report(error)?.store)
              logger.warn({ err: error, queue: name, jobId: job.id, retryCount: job.retryCount }, 'job failed');
            throw error;
          } finally {
            current.end();
          }
        },
        options,
      );
    },
  };
}

function hostForUrl(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
