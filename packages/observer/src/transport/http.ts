// SPDX-License-Identifier: Apache-2.0
// One HTTP request to the configured stella origin, with node:http(s) rather than fetch so the socket
// can be unref'd: an upload in flight never keeps the host process alive (the exit paths ask for a
// ref'd request, bounded by their deadline). Any URL outside the endpoint's origin is refused here,
// so no code path can make the observer talk to another host.
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Answers are a problem document or a small receipt; anything longer is cut (bounded memory). */
const MAX_ANSWER_BYTES = 64 * 1024;

export class OriginClient {
  readonly origin: string;
  private readonly agent: HttpAgent;
  private readonly secure: boolean;

  constructor(endpoint: URL) {
    this.origin = endpoint.origin;
    this.secure = endpoint.protocol === 'https:';
    // One connection kept alive: batches go one at a time, and reusing it saves a TLS handshake per batch.
    const options = { keepAlive: true, maxSockets: 2, maxFreeSockets: 1 };
    this.agent = this.secure ? new HttpsAgent(options) : new HttpAgent(options);
  }

  post(
    url: URL,
    headers: Record<string, string>,
    body: Buffer,
    options: { timeoutMs: number; ref: boolean },
  ): Promise<HttpAnswer> {
    if (url.origin !== this.origin) {
      return Promise.reject(new Error(`refusing to connect to ${url.origin}: only ${this.origin} is allowed`));
    }
    return new Promise<HttpAnswer>((resolve, reject) => {
      const send = this.secure ? httpsRequest : httpRequest;
      const req = send(url, {
        method: 'POST',
        agent: this.agent,
        headers: { ...headers, 'content-length': String(body.length) },
      });
      const timer = setTimeout(() => {
        req.destroy(new Error(`no answer from ${this.origin} within ${options.timeoutMs} ms`));
      }, options.timeoutMs);
      timer.unref();
      req.on('socket', (socket) => {
        if (options.ref) socket.ref();
        else socket.unref();
      });
      req.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let length = 0;
        res.on('data', (chunk: Buffer) => {
          if (length < MAX_ANSWER_BYTES) chunks.push(chunk.subarray(0, MAX_ANSWER_BYTES - length));
          length += chunk.length;
        });
        res.on('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
        });
      });
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
