// SPDX-License-Identifier: Apache-2.0
// The bearer token for uploads: the configured one, or one from POST <endpoint>/token by the
// client_credentials grant (scope signals:write, the configured tenant), cached until shortly before
// it expires. Concurrent callers share one token request.
import type { ObserverConfig } from './config.ts';
import type { OriginClient } from './http.ts';

/** Renew this long before expiry, so a batch started just before it is not refused mid-flight. */
const EXPIRY_MARGIN_MS = 30_000;

export class AccessTokens {
  private readonly config: ObserverConfig;
  private readonly client: OriginClient;
  private readonly now: () => number;
  private cached: { token: string; renewAt: number } | undefined;
  private pending: Promise<string> | undefined;

  constructor(config: ObserverConfig, client: OriginClient, now: () => number) {
    this.config = config;
    this.client = client;
    this.now = now;
  }

  async get(timeoutMs: number, ref: boolean): Promise<string> {
    const { auth } = this.config;
    if (auth.kind === 'token') return auth.token;
    if (this.cached && this.now() < this.cached.renewAt) return this.cached.token;
    this.pending ??= this.fetch(auth.clientId, auth.clientSecret, timeoutMs, ref).finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** Forgets the cached token (after a 401: it was revoked or the server restarted with new keys). */
  invalidate(): void {
    this.cached = undefined;
  }

  get renewable(): boolean {
    return this.config.auth.kind === 'clientCredentials';
  }

  private async fetch(clientId: string, clientSecret: string, timeoutMs: number, ref: boolean): Promise<string> {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
      scope: 'signals:write',
      tenant: this.config.tenant,
    });
    const answer = await this.client.post(
      new URL('token', this.config.endpoint),
      { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      Buffer.from(form.toString(), 'utf8'),
      { timeoutMs, ref },
    );
    if (answer.status !== 200) {
      throw new TokenError(
        answer.status,
        `token request answered ${answer.status}: ${answer.body.toString('utf8').slice(0, 300)}`,
      );
    }
    const body = JSON.parse(answer.body.toString('utf8')) as { access_token?: unknown; expires_in?: unknown };
    if (typeof body.access_token !== 'string') throw new TokenError(answer.status, 'token answer has no access_token');
    const lifetimeMs = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in * 1000 : 300_000;
    // Short-lived tokens renew at half their life rather than never being cached.
    const renewIn = Math.max(lifetimeMs / 2, lifetimeMs - EXPIRY_MARGIN_MS);
    this.cached = { token: body.access_token, renewAt: this.now() + renewIn };
    return body.access_token;
  }
}

/** The token endpoint refused or answered nonsense; the batch stays spooled and is retried. */
export class TokenError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'TokenError';
    this.status = status;
  }
}
