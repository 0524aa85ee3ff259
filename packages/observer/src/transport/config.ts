// SPDX-License-Identifier: Apache-2.0
// The observer's configuration from the environment: a pure function of the variables it is given
// (the host passes process.env or its own map), checked all at once so one error names every bad
// variable. The seed 001 knobs are read in .NET's `Sampler__MaxEventsPerSecond` form and as
// `STELLA_OBSERVER_SAMPLER_MAX_EVENTS_PER_SECOND`; the STELLA_ form wins when both are set.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StellaError } from '@stella/core';
import { ObserverErrors } from './errors.ts';

const MiB = 1024 * 1024;

export type ObserverAuth =
  | { kind: 'token'; token: string }
  | { kind: 'clientCredentials'; clientId: string; clientSecret: string };

/** The subject the runtime facts are about: a scan, or a component at a version. */
export type ObserverSubject = { scanId: string } | { component: string; version: string };

export interface ObserverConfig {
  /** Base URL of the stella server; every connection goes to its origin and nowhere else. */
  endpoint: URL;
  tenant: string;
  auth: ObserverAuth;
  callgraphId: string;
  analysisId: string | undefined;
  subject: ObserverSubject;
  /** Token bucket rate (and one second's burst); events beyond it are dropped as rate_limit. */
  maxEventsPerSecond: number;
  /** Share of one core the observer's own work may use before new events are dropped as cpu_guard. */
  maxCpuPercent: number;
  batchSize: number;
  flushIntervalMs: number;
  spoolDir: string;
  spoolMaxBytes: number;
  /** A request slower than this is abandoned and its batch spooled. */
  requestTimeoutMs: number;
  /** How long the exit paths (beforeExit, SIGTERM, SIGINT) wait for the pending batch to be sent. */
  exitFlushTimeoutMs: number;
}

type Env = Readonly<Record<string, string | undefined>>;

interface NumberKnob {
  key: keyof ObserverConfig;
  /** Names tried in order; the first set one is used. */
  names: readonly string[];
  fallback: number;
  min: number;
  max: number;
}

const NUMBER_KNOBS: readonly NumberKnob[] = [
  {
    key: 'maxEventsPerSecond',
    names: ['STELLA_OBSERVER_SAMPLER_MAX_EVENTS_PER_SECOND', 'Sampler__MaxEventsPerSecond'],
    fallback: 500,
    min: 1,
    max: 1_000_000,
  },
  {
    key: 'maxCpuPercent',
    names: ['STELLA_OBSERVER_SAMPLER_MAX_CPU_PERCENT', 'Sampler__MaxCpuPercent'],
    fallback: 35,
    min: 1,
    max: 100,
  },
  {
    key: 'batchSize',
    names: ['STELLA_OBSERVER_INGEST_BATCH_SIZE', 'Ingest__BatchSize'],
    fallback: 1000,
    min: 1,
    max: 100_000,
  },
  {
    key: 'flushIntervalMs',
    names: ['STELLA_OBSERVER_INGEST_FLUSH_INTERVAL_MS', 'Ingest__FlushIntervalMs'],
    fallback: 2000,
    min: 10,
    max: 3_600_000,
  },
  {
    key: 'spoolMaxBytes',
    names: ['STELLA_OBSERVER_SPOOL_MAX_BYTES'],
    fallback: 64 * MiB,
    // Below one batch's worth the spool would drop every batch it is given.
    min: 64 * 1024,
    max: 64 * 1024 * MiB,
  },
  {
    key: 'requestTimeoutMs',
    names: ['STELLA_OBSERVER_REQUEST_TIMEOUT_MS'],
    fallback: 10_000,
    min: 100,
    max: 600_000,
  },
  {
    key: 'exitFlushTimeoutMs',
    names: ['STELLA_OBSERVER_EXIT_FLUSH_TIMEOUT_MS'],
    fallback: 1000,
    min: 0,
    max: 30_000,
  },
];

const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

const value = (env: Env, name: string): string | undefined => {
  const v = env[name]?.trim();
  return v ? v : undefined;
};

/** Reads and checks the observer's variables; throws ERR_OBSERVER_CONFIG naming every bad one. */
export function observerConfig(env: Env): ObserverConfig {
  const problems: string[] = [];
  const endpoint = parseEndpoint(value(env, 'STELLA_OBSERVER_ENDPOINT'), problems);
  const tenant = value(env, 'STELLA_OBSERVER_TENANT') ?? 'default';
  const auth = parseAuth(env, problems);
  const callgraphId = value(env, 'STELLA_OBSERVER_CALLGRAPH_ID');
  if (!callgraphId)
    problems.push('STELLA_OBSERVER_CALLGRAPH_ID is required (the id POST /signals/callgraphs answered)');
  const subject = parseSubject(env, problems);
  const numbers: Partial<Record<keyof ObserverConfig, number>> = {};
  for (const knob of NUMBER_KNOBS) {
    const name = knob.names.find((n) => value(env, n) !== undefined);
    if (!name) {
      numbers[knob.key] = knob.fallback;
      continue;
    }
    const raw = value(env, name)!;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < knob.min || n > knob.max) {
      problems.push(
        `${name} must be an integer from ${knob.min} to ${knob.max}, got ${JSON.stringify(raw.slice(0, 40))}`,
      );
    } else {
      numbers[knob.key] = n;
    }
  }
  if (problems.length > 0 || !endpoint || !auth || !callgraphId || !subject) {
    throw new StellaError(ObserverErrors.config, `invalid observer configuration: ${problems.join('; ')}`, {
      details: { problems },
    });
  }
  return {
    endpoint,
    tenant,
    auth,
    callgraphId,
    analysisId: value(env, 'STELLA_OBSERVER_ANALYSIS_ID'),
    subject,
    maxEventsPerSecond: numbers.maxEventsPerSecond!,
    maxCpuPercent: numbers.maxCpuPercent!,
    batchSize: numbers.batchSize!,
    flushIntervalMs: numbers.flushIntervalMs!,
    spoolDir: value(env, 'STELLA_OBSERVER_SPOOL_DIR') ?? join(tmpdir(), 'stella-observer'),
    spoolMaxBytes: numbers.spoolMaxBytes!,
    requestTimeoutMs: numbers.requestTimeoutMs!,
    exitFlushTimeoutMs: numbers.exitFlushTimeoutMs!,
  };
}

function parseEndpoint(raw: string | undefined, problems: string[]): URL | undefined {
  if (!raw) {
    problems.push(
      'STELLA_OBSERVER_ENDPOINT is required (the stella server base URL, e.g. https://stella.example:8440)',
    );
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    problems.push(`STELLA_OBSERVER_ENDPOINT is not a URL: ${JSON.stringify(raw.slice(0, 200))}`);
    return undefined;
  }
  if (url.username || url.password) {
    problems.push('STELLA_OBSERVER_ENDPOINT must not carry credentials; use STELLA_OBSERVER_TOKEN or a client id');
    return undefined;
  }
  // TLS is required off the host: runtime facts and bearer tokens must not cross a network in clear.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) {
    problems.push(
      `STELLA_OBSERVER_ENDPOINT must use https: (plain http: is allowed only for loopback hosts 127.0.0.1, ::1 and localhost), got ${url.protocol}//${url.host}`,
    );
    return undefined;
  }
  // Only the path prefix is kept (a server behind a reverse proxy at /stella/); query and fragment are not.
  url.search = '';
  url.hash = '';
  if (!url.pathname.endsWith('/')) url.pathname = `${url.pathname}/`;
  return url;
}

function parseAuth(env: Env, problems: string[]): ObserverAuth | undefined {
  const token = value(env, 'STELLA_OBSERVER_TOKEN');
  const clientId = value(env, 'STELLA_OBSERVER_CLIENT_ID');
  const clientSecret = value(env, 'STELLA_OBSERVER_CLIENT_SECRET');
  if (token && (clientId || clientSecret)) {
    problems.push(
      'set either STELLA_OBSERVER_TOKEN or STELLA_OBSERVER_CLIENT_ID + STELLA_OBSERVER_CLIENT_SECRET, not both',
    );
    return undefined;
  }
  if (token) return { kind: 'token', token };
  if (clientId && clientSecret) return { kind: 'clientCredentials', clientId, clientSecret };
  if (clientId || clientSecret) {
    problems.push(
      `${clientId ? 'STELLA_OBSERVER_CLIENT_SECRET' : 'STELLA_OBSERVER_CLIENT_ID'} is required with ${clientId ? 'STELLA_OBSERVER_CLIENT_ID' : 'STELLA_OBSERVER_CLIENT_SECRET'}`,
    );
    return undefined;
  }
  problems.push(
    'authentication is required: STELLA_OBSERVER_TOKEN, or STELLA_OBSERVER_CLIENT_ID + STELLA_OBSERVER_CLIENT_SECRET',
  );
  return undefined;
}

function parseSubject(env: Env, problems: string[]): ObserverSubject | undefined {
  const scanId = value(env, 'STELLA_OBSERVER_SCAN_ID');
  if (scanId) return { scanId };
  const component = value(env, 'STELLA_OBSERVER_COMPONENT');
  const version = value(env, 'STELLA_OBSERVER_VERSION');
  if (component && version) return { component, version };
  problems.push(
    'a subject is required: STELLA_OBSERVER_SCAN_ID, or STELLA_OBSERVER_COMPONENT + STELLA_OBSERVER_VERSION',
  );
  return undefined;
}
