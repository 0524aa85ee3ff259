// Fastify onRequest hook enforcing the router rate limiter: X-RateLimit-* headers on every limited
// response, and the spec's 429 body with Retry-After on a denial.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RateLimitDecision, RateLimiter } from './limiter.ts';

export interface RateLimitHookOptions {
  /** The microservice the request is routed to; it selects the environment rules. */
  microservice: (request: FastifyRequest) => string;
  /** Who is counted (client id, tenant). Absent: all callers of a microservice share the limits. */
  key?: (request: FastifyRequest) => string | undefined;
}

/** Body of a 429, exactly as the spec's Router error body. */
export interface RateLimitExceededBody {
  error: 'rate_limit_exceeded';
  message: string;
  retryAfter: number;
  limit: number;
  current: number;
  window: number;
  scope: 'instance' | 'environment';
}

/** Use as `app.addHook('onRequest', rateLimitHook(limiter, {...}))`. */
export function rateLimitHook(limiter: RateLimiter, options: RateLimitHookOptions) {
  return async function rateLimitOnRequest(
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<FastifyReply | undefined> {
    const decision = await limiter.check({
      microservice: options.microservice(request),
      path: request.url.split('?', 1)[0] ?? request.url,
      key: options.key?.(request),
    });
    // scope "none": no rule covers this request, so there is no limit to advertise.
    if (decision.scope !== 'none') setRateLimitHeaders(reply, decision);
    if (decision.allowed) return undefined;
    const body: RateLimitExceededBody = {
      error: 'rate_limit_exceeded',
      message: `Rate limit exceeded. Try again in ${decision.retryAfterSeconds} seconds.`,
      retryAfter: decision.retryAfterSeconds,
      limit: decision.limit,
      current: decision.current,
      window: decision.windowSeconds,
      scope: decision.scope === 'environment' ? 'environment' : 'instance',
    };
    // Serialised here so no route response schema reshapes the contract body. Returning the reply is what
    // tells Fastify an async hook answered; otherwise the route handler would run as well.
    return reply
      .code(429)
      .header('retry-after', String(decision.retryAfterSeconds))
      .type('application/json')
      .send(JSON.stringify(body));
  };
}

function setRateLimitHeaders(reply: FastifyReply, decision: RateLimitDecision): void {
  reply.header('x-ratelimit-limit', String(decision.limit));
  reply.header('x-ratelimit-remaining', String(decision.remaining));
  reply.header('x-ratelimit-reset', String(decision.resetAt));
}
