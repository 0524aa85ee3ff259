// OpenTelemetry tracing end to end: a real OTLP/HTTP receiver on loopback, a server exporting to it,
// and one export run followed from the HTTP request through its SQL to the worker's job, in one trace
// that continues the caller's traceparent. Then the problem+json of a failing request names its trace,
// and a server with tracing off sends nothing.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { testBackend, waitFor } from '@stella/testkit';
import { startTestServer, type TestServer } from '../helpers.ts';

/** A span as the OTLP/HTTP JSON encoding carries it (ids in hex), with its attributes flattened. */
interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
}

// OTLP's SpanKind numbering (the API's plus one).
const KIND = { server: 2, client: 3, producer: 4, consumer: 5 } as const;
const HEX32 = /^[0-9a-f]{32}$/;

interface Collector {
  url: string;
  spans: ExportedSpan[];
  /** Every request body as received, for the "no secret leaves" check. */
  bodies: string[];
  requests: number;
  close(): Promise<void>;
}

type OtlpValue = {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
};
type OtlpAttribute = { key: string; value: OtlpValue };

function flatten(attributes: OtlpAttribute[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of attributes ?? []) {
    out[key] =
      value.stringValue ??
      (value.intValue !== undefined ? Number(value.intValue) : undefined) ??
      value.doubleValue ??
      value.boolValue;
  }
  return out;
}

/** A minimal OTLP/HTTP traces receiver: POST /v1/traces with the exporter's JSON encoding, answered 200. */
async function startCollector(): Promise<Collector> {
  const collector: Omit<Collector, 'url' | 'close'> = { spans: [], bodies: [], requests: 0 };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      collector.requests++;
      if (request.method !== 'POST' || request.url !== '/v1/traces') {
        response.writeHead(404).end();
        return;
      }
      let body = Buffer.concat(chunks);
      if (request.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      if (!String(request.headers['content-type']).startsWith('application/json')) {
        response.writeHead(415).end();
        return;
      }
      const text = body.toString('utf8');
      collector.bodies.push(text);
      const payload = JSON.parse(text) as {
        resourceSpans?: {
          resource?: { attributes?: OtlpAttribute[] };
          scopeSpans?: {
            spans?: {
              traceId: string;
              spanId: string;
              parentSpanId?: string;
              name: string;
              kind: number;
              attributes?: OtlpAttribute[];
            }[];
          }[];
        }[];
      };
      for (const resourceSpans of payload.resourceSpans ?? []) {
        const resource = flatten(resourceSpans.resource?.attributes);
        for (const scope of resourceSpans.scopeSpans ?? []) {
          for (const span of scope.spans ?? []) {
            collector.spans.push({
              traceId: span.traceId,
              spanId: span.spanId,
              parentSpanId: span.parentSpanId ?? '',
              name: span.name,
              kind: span.kind,
              attributes: flatten(span.attributes),
              resource,
            });
          }
        }
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(collector, {
    url: `http://127.0.0.1:${port}/v1/traces`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

const PROFILE = {
  apiVersion: 'stellaops.io/export.v1',
  kind: 'ExportProfile',
  metadata: { name: 'traced' },
  spec: { kind: 'json', variant: 'raw', distribution: ['http'] },
};

/** Creates the profile, submits a run (with `headers`), waits for the worker to finish it. */
async function exportRun(t: TestServer, token: string, headers: Record<string, string> = {}) {
  const auth = { authorization: `Bearer ${token}`, 'x-stella-tenant': 'default' };
  const json = { ...auth, 'content-type': 'application/json' };
  const profile = await fetch(`${t.base}/api/export/profiles`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify(PROFILE),
  });
  assert.ok(profile.status === 201 || profile.status === 200, `profile: ${profile.status}`);
  const submitted = await fetch(`${t.base}/api/export/runs`, {
    method: 'POST',
    headers: { ...json, ...headers },
    body: JSON.stringify({ profileId: 'traced', allowEmpty: true }),
  });
  assert.equal(submitted.status, 202, await submitted.clone().text());
  const { runId } = (await submitted.json()) as { runId: string };
  let last = '';
  await waitFor(
    () => `run ${runId} to succeed (last status ${last})`,
    async () => {
      const run = (await (await fetch(`${t.base}/api/export/runs/${runId}`, { headers: auth })).json()) as {
        status: string;
      };
      last = run.status;
      assert.notEqual(run.status, 'failed');
      return run.status === 'succeeded';
    },
    { deadlineMs: 60_000, intervalMs: 100 },
  );
  return runId;
}

/** Every span below `root` in its trace (children, their children …). */
function descendants(spans: ExportedSpan[], root: ExportedSpan): ExportedSpan[] {
  const below: ExportedSpan[] = [];
  let frontier = [root.spanId];
  while (frontier.length) {
    const next = spans.filter((s) => s.traceId === root.traceId && frontier.includes(s.parentSpanId));
    below.push(...next);
    frontier = next.map((s) => s.spanId);
  }
  return below;
}

describe(`tracing on ${testBackend()}`, () => {
  let collector: Collector;
  before(async () => {
    collector = await startCollector();
  });
  after(() => collector.close());

  test('one trace from the HTTP request through its SQL to the worker job; problem+json names the trace', async () => {
    const t = await startTestServer({
      STELLA_TELEMETRY_TRACING_ENABLED: 'true',
      STELLA_TELEMETRY_TRACING_OTLP_ENDPOINT: collector.url,
      STELLA_TELEMETRY_TRACING_SERVICE_NAME: 'stella-tracing-test',
    });
    let token: string;
    let failingTrace: string;
    let failingRequestId: string;
    // The caller's trace: the request span must continue it.
    const callerTrace = crypto.randomUUID().replaceAll('-', '');
    const callerSpan = callerTrace.slice(0, 16);
    try {
      token = await t.token();
      const runId = await exportRun(t, token, { traceparent: `00-${callerTrace}-${callerSpan}-01` });
      // The rows the request wrote carry its trace: the run's timeline event names the W3C trace id.
      const events = (await (
        await fetch(`${t.base}/api/v1/timeline/events?kind=export.run.queued&limit=100`, {
          headers: { authorization: `Bearer ${token}`, 'x-stella-tenant': 'default' },
        })
      ).json()) as { items: { details: { runId?: string }; trace_id: string | null }[] };
      const queued = events.items.find((e) => e.details.runId === runId);
      assert.equal(queued?.trace_id, callerTrace, JSON.stringify(events.items.slice(0, 3)));

      const missing = await fetch(`${t.base}/api/export/runs/exp-${'0'.repeat(24)}`, {
        headers: { authorization: `Bearer ${token}`, 'x-stella-tenant': 'default' },
      });
      assert.equal(missing.status, 404);
      assert.match(missing.headers.get('content-type') ?? '', /^application\/problem\+json/);
      const problem = (await missing.json()) as { traceId: string; requestId: string };
      assert.match(problem.traceId, HEX32, 'a W3C trace id, not the request id');
      assert.notEqual(problem.traceId, problem.requestId);
      failingTrace = problem.traceId;
      failingRequestId = problem.requestId;

      // A caller's traceparent is honoured in problem+json too.
      const otherTrace = crypto.randomUUID().replaceAll('-', '');
      const refused = await fetch(`${t.base}/api/export/runs/exp-${'1'.repeat(24)}`, {
        headers: {
          authorization: `Bearer ${token}`,
          'x-stella-tenant': 'default',
          traceparent: `00-${otherTrace}-${otherTrace.slice(16)}-01`,
        },
      });
      assert.equal(((await refused.json()) as { traceId: string }).traceId, otherTrace);
    } finally {
      // Stopping flushes the spans still batched: everything below is in the collector after this.
      await t.close();
    }

    const { spans } = collector;
    const submit = spans.find(
      (s) =>
        s.kind === KIND.server &&
        s.attributes['http.route'] === '/api/export/runs' &&
        s.attributes['http.request.method'] === 'POST',
    );
    assert.ok(submit, `no server span for POST /api/export/runs among ${spans.map((s) => s.name).join(', ')}`);
    assert.equal(submit.traceId, callerTrace, 'the incoming traceparent is continued');
    assert.equal(submit.parentSpanId, callerSpan);
    assert.equal(submit.name, 'POST /api/export/runs');
    assert.equal(submit.attributes['http.response.status_code'], 202);
    assert.equal(submit.resource['service.name'], 'stella-tracing-test');

    const inRequest = descendants(spans, submit);
    // Statements, and the transactions grouping them (no statement of their own).
    const requestDb = inRequest.filter((s) => s.attributes['db.system'] === 'postgresql');
    for (const span of requestDb) {
      assert.equal(span.kind, KIND.client);
      assert.equal(span.attributes['stella.db.backend'], testBackend());
    }
    assert.ok(requestDb.some((s) => s.name === 'transaction'));
    const requestSql = requestDb.filter((s) => typeof s.attributes['db.statement'] === 'string');
    assert.ok(requestSql.length > 0, 'the request has SQL spans');
    assert.ok(
      requestSql.some((s) => /insert/i.test(String(s.attributes['db.statement']))),
      'the run insert is among them',
    );

    const send = inRequest.find((s) => s.kind === KIND.producer && s.name === 'send export.run');
    assert.ok(send, `no send span under the request: ${inRequest.map((s) => s.name).join(', ')}`);
    const process = spans.find((s) => s.kind === KIND.consumer && s.parentSpanId === send.spanId);
    assert.ok(process, 'the worker span continues the send');
    assert.equal(process.traceId, callerTrace, 'one trace id from the request to the job');
    assert.equal(process.name, 'process export.run');
    const jobSql = descendants(spans, process).filter((s) => s.attributes['db.system'] === 'postgresql');
    assert.ok(jobSql.length > 0, 'the job has SQL spans in the same trace');
    assert.ok(jobSql.every((s) => s.traceId === callerTrace));

    // The failing request's problem+json named the trace of its own server span.
    const failing = spans.find((s) => s.kind === KIND.server && s.attributes['stella.request_id'] === failingRequestId);
    assert.ok(failing, 'the failing request was traced');
    assert.equal(failing.traceId, failingTrace);
    assert.equal(failing.attributes['http.response.status_code'], 404);
    assert.equal(failing.attributes['http.route'], '/api/export/runs/:runId');

    // No parameter value or secret leaves in a span: not the token, not the client secret.
    const exported = collector.bodies.join('\n');
    assert.ok(!exported.includes(token!), 'the bearer token is not exported');
    assert.ok(!exported.includes(t.admin.clientSecret), 'the client secret is not exported');
    // Idle polling (no trace) makes no spans: every SQL span belongs to a request or a job.
    const orphanSql = spans.filter((s) => s.attributes['db.system'] === 'postgresql' && s.parentSpanId === '');
    assert.deepEqual(orphanSql, [], 'no root SQL spans');
  });

  test('with tracing off nothing is exported and problem+json traceId is the request id', async () => {
    const before = collector.requests;
    const t = await startTestServer({
      // An endpoint without `enabled` does not turn tracing on.
      STELLA_TELEMETRY_TRACING_OTLP_ENDPOINT: collector.url,
    });
    try {
      const token = await t.token();
      await exportRun(t, token);
      const missing = await fetch(`${t.base}/api/export/runs/exp-${'0'.repeat(24)}`, {
        headers: { authorization: `Bearer ${token}`, 'x-stella-tenant': 'default' },
      });
      const problem = (await missing.json()) as { traceId: string; requestId: string };
      assert.equal(problem.traceId, problem.requestId);
      assert.equal(problem.requestId, missing.headers.get('x-stella-request-id'));
    } finally {
      await t.close();
    }
    assert.equal(collector.requests, before, 'no export request reached the collector');
  });
});
