// Answers for requests Node refuses before Fastify sees them (headers too large, malformed HTTP, a request
// not received within the request timeout): the same problem+json, with a registered code, as every other
// error. Node and Fastify would otherwise write their own text or JSON bodies.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { type ErrorDefinition, Errors, newUlid, systemClock } from '@stella/core';
import { PROBLEM_CONTENT_TYPE } from './problem.ts';

interface ClientErrorLog {
  debug(object: object, message: string): void;
}

/** Node's mapping of parser and timeout errors onto statuses (lib/_http_server.js), with our codes. */
function definitionFor(code: string | undefined): { def: ErrorDefinition; detail: string } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return { def: Errors.headersTooLarge, detail: 'the request line and headers exceed the server limit' };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { def: Errors.bodyTooLarge, detail: 'chunk extensions exceed the server limit' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { def: Errors.requestTimeout, detail: 'the request was not received completely in time' };
    default:
      return { def: Errors.badRequest, detail: `malformed HTTP request${code ? ` (${code})` : ''}` };
  }
}

/** Fastify's `clientErrorHandler`: writes a problem document when nothing was sent yet, then closes. */
export function clientErrorHandler(log: ClientErrorLog) {
  return (error: Error & { code?: string }, socket: Socket): void => {
    // A reset connection has no one left to answer.
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const { def, detail } = definitionFor(error.code);
    const requestId = newUlid();
    log.debug({ code: def.code, cause: error.code, requestId }, detail);
    // A response already under way on this socket must not be corrupted by a second status line.
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (socket.writable && !inFlight?.headersSent) {
      const body = JSON.stringify({
        type: `https://stella.local/errors/${def.code}`,
        title: def.title,
        status: def.status,
        code: def.code,
        detail,
        message: detail,
        instance: '',
        requestId,
        traceId: requestId,
        timestamp: systemClock.now().toISOString(),
      });
      socket.write(
        `HTTP/1.1 ${def.status} ${STATUS_CODES[def.status] ?? 'Error'}\r\n` +
          'Connection: close\r\n' +
          `Content-Type: ${PROBLEM_CONTENT_TYPE}; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n` +
          `x-stella-request-id: ${requestId}\r\n\r\n${body}`,
      );
    }
    socket.destroy(error);
  };
}
