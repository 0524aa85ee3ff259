// Token endpoint errors in the shape OAuth 2.0 clients expect (RFC 6749 §5.2): `{error,
// error_description}` with status 400, or 401 for failed client authentication. Not problem+json,
// because off-the-shelf OAuth clients parse exactly this.

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  /** RFC 6749 §4.1.2.1, sent to the console's redirect URI. */
  | 'unsupported_response_type'
  | 'access_denied'
  /**
   * Not in §5.2: RFC 8628 §3.5 registers it for token endpoint responses. Sent with 429 and Retry-After
   * while failed client authentications back off.
   */
  | 'slow_down'
  /** Not in §5.2; used for our own failures so clients still get the OAuth shape. */
  | 'server_error';

const STATUS: Record<OAuthErrorCode, number> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  unsupported_response_type: 400,
  access_denied: 403,
  slow_down: 429,
  server_error: 500,
};

export interface OAuthErrorBody {
  error: OAuthErrorCode;
  error_description: string;
}

export class OAuthError extends Error {
  readonly error: OAuthErrorCode;
  readonly error_description: string;
  readonly status: number;
  /** Sent as Retry-After. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    error: OAuthErrorCode,
    description: string,
    options?: { cause?: unknown; status?: number; retryAfterSeconds?: number },
  ) {
    super(`${error}: ${description}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OAuthError';
    this.error = error;
    this.error_description = description;
    this.status = options?.status ?? STATUS[error];
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }

  toJSON(): OAuthErrorBody {
    return { error: this.error, error_description: this.error_description };
  }
}
