// SPDX-License-Identifier: Apache-2.0
// The ingest routes' bodies are the records: the exact bytes are kept instead of parsing JSON.
// Content-Encoding: gzip is inflated as a stream on zlib's thread pool (a synchronous inflate blocked
// the event loop for seconds), under the route's cap on what was sent and limits.decompressedBytes on
// what it expands to.
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Errors, StellaError } from '@stella/core';
import type { Config, HttpApp } from '@stella/platform';
import type { FastifyRequest } from 'fastify';
import { AocErrors } from '../errors.ts';

/**
 * Replaces the scope's parsers with one that keeps each of `contentTypes` as a Buffer. A single
 * document inflating past its own cap is that document's refusal (ERR_AOC); a batch's is the body's.
 */
export function acceptRawBodies(scope: HttpApp, contentTypes: readonly string[], limits: Config['limits']): void {
  const { documentBytes, decompressedBytes, requestBodyBytes } = limits;
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser([...contentTypes], (request, payload, done) => {
    const single = !request.routeOptions.url?.endsWith('/batch');
    readBody(request, payload, {
      sentBytes: request.routeOptions.bodyLimit ?? requestBodyBytes,
      expandedBytes: single ? Math.min(documentBytes + 1, decompressedBytes) : decompressedBytes,
      tooLarge: single
        ? () =>
            new StellaError(
              AocErrors.documentTooLarge,
              `gzip body expands beyond the document cap of ${documentBytes} bytes (limits.documentBytes)`,
            )
        : () =>
            new StellaError(
              Errors.bodyTooLarge,
              `gzip body expands beyond limits.decompressedBytes (${decompressedBytes})`,
            ),
    }).then(
      (body) => done(null, body),
      (error: Error) => done(error, undefined),
    );
  });
}

interface BodyCaps {
  /** Most bytes read off the wire (the route's bodyLimit). */
  sentBytes: number;
  /** Most bytes a gzip body may expand to. */
  expandedBytes: number;
  tooLarge: () => StellaError;
}

/**
 * Reads a request body as sent, or inflated as a stream when it is gzip, each under its cap. On a breach
 * the request stream is let go of, not destroyed: destroying it would reset the socket before the 413 is
 * written. The platform drains what is left once the refusal is sent (drainRefusedBody).
 */
function readBody(request: FastifyRequest, payload: Readable, caps: BodyCaps): Promise<Buffer> {
  const declared = Number(request.headers['content-length']);
  const sentTooLarge = () =>
    new StellaError(Errors.bodyTooLarge, `request body is larger than ${caps.sentBytes} bytes for this route`);
  if (Number.isFinite(declared) && declared > caps.sentBytes) return Promise.reject(sentTooLarge());
  const encoding = String(request.headers['content-encoding'] ?? 'identity')
    .trim()
    .toLowerCase();
  if (encoding !== 'identity' && encoding !== 'gzip' && encoding !== '') {
    return Promise.reject(
      new StellaError(
        Errors.unsupportedMediaType,
        `Content-Encoding ${encoding.slice(0, 32)} is not supported: send gzip or no encoding`,
      ),
    );
  }
  const gunzip = encoding === 'gzip' ? createGunzip() : undefined;
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let sent = 0;
    let kept = 0;
    let settled = false;
    const finish = (error: Error | undefined) => {
      if (settled) return;
      settled = true;
      payload.off('data', onData);
      payload.off('end', onEnd);
      payload.off('error', onError);
      if (gunzip && error) gunzip.destroy();
      if (error) reject(error);
      else resolve(Buffer.concat(chunks));
    };
    const keep = (chunk: Buffer) => {
      kept += chunk.length;
      if (kept > caps.expandedBytes) return finish(caps.tooLarge());
      chunks.push(chunk);
    };
    const onData = (chunk: Buffer) => {
      sent += chunk.length;
      if (sent > caps.sentBytes) return finish(sentTooLarge());
      if (!gunzip) return keep(chunk);
      // Backpressure: zlib inflates on the thread pool; the socket waits while it catches up.
      if (!gunzip.write(chunk)) {
        payload.pause();
        gunzip.once('drain', () => payload.resume());
      }
    };
    const onEnd = () => (gunzip ? gunzip.end() : finish(undefined));
    const onError = (error: Error) => finish(error);
    if (gunzip) {
      gunzip.on('data', keep);
      gunzip.on('end', () => finish(undefined));
      gunzip.on('error', (error: Error) =>
        finish(
          new StellaError(
            AocErrors.malformedDocument,
            `gzip body cannot be decompressed: ${error.message} (truncated or not gzip)`,
            { cause: error },
          ),
        ),
      );
    }
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onError);
  });
}
