// SPDX-License-Identifier: Apache-2.0
// A run's artefacts over HTTP: export.json and provenance.json with ETags, and the bundle streamed
// with Range, If-Range and If-None-Match.
import { StellaError } from '@stella/core';
import type { HttpApp } from '@stella/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ExportErrors } from '../errors.ts';
import type { ExportService } from '../service/index.ts';
import { download, runParams, tags } from './options.ts';
import { tenantOf } from './request.ts';

/** A single `bytes=` range within `size`; 'invalid' answers 416, undefined (no usable header) the whole bundle. */
export function parseRange(header: string, size: number): { start: number; end: number } | 'invalid' | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return 'invalid';
  let start: number;
  let end: number;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return 'invalid';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start > end || start >= size) return 'invalid';
  return { start, end };
}

/** The JSON artefact with its ETag; 304 when the caller already holds it. */
function sendJson(request: FastifyRequest, reply: FastifyReply, artefact: { bytes: Buffer; etag: string }) {
  reply.header('etag', artefact.etag);
  if (request.headers['if-none-match'] === artefact.etag) return reply.code(304).send();
  return reply.type('application/json; charset=utf-8').send(artefact.bytes);
}

async function sendBundle(request: FastifyRequest, reply: FastifyReply, service: ExportService, runId: string) {
  const bundle = await service.bundleOf(tenantOf(request), runId);
  const etag = `"${bundle.digest}"`;
  reply.header('etag', etag);
  reply.header('accept-ranges', 'bytes');
  reply.header('content-type', bundle.mediaType);
  reply.header('content-disposition', `attachment; filename="${bundle.fileName}"`);
  reply.header('x-stella-bundle-digest', bundle.digest ?? '');
  if (request.headers['if-none-match'] === etag) return reply.code(304).send();
  const rangeHeader = request.headers.range;
  const ifRange = request.headers['if-range'];
  if (rangeHeader && (ifRange === undefined || ifRange === etag)) {
    const range = parseRange(rangeHeader, bundle.size);
    if (range === 'invalid') {
      reply.header('content-range', `bytes */${bundle.size}`);
      throw new StellaError(
        ExportErrors.range,
        `Range ${rangeHeader.slice(0, 60)} does not fit a ${bundle.size}-byte bundle`,
      );
    }
    if (range) {
      reply.code(206);
      reply.header('content-range', `bytes ${range.start}-${range.end}/${bundle.size}`);
      reply.header('content-length', String(range.end - range.start + 1));
      return reply.send(await bundle.read(range));
    }
  }
  reply.header('content-length', String(bundle.size));
  return reply.send(await bundle.read());
}

export function registerArtefactRoutes(app: HttpApp, service: ExportService): void {
  app.get(
    '/api/export/runs/:runId/manifest',
    { config: download, schema: { tags, summary: 'export.json of a run', ...runParams } },
    async (request, reply) =>
      sendJson(request, reply, await service.manifestOf(tenantOf(request), request.params.runId)),
  );

  app.get(
    '/api/export/runs/:runId/provenance',
    { config: download, schema: { tags, summary: 'provenance.json (in-toto Statement v1) of a run', ...runParams } },
    async (request, reply) =>
      sendJson(request, reply, await service.provenanceOf(tenantOf(request), request.params.runId)),
  );

  app.get(
    '/api/export/runs/:runId/download',
    {
      config: download,
      schema: {
        tags,
        summary: 'The bundle, streamed; Range and If-Range supported; ETag is the bundle digest',
        ...runParams,
      },
    },
    async (request, reply) => sendBundle(request, reply, service, request.params.runId),
  );
}
