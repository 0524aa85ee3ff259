// SPDX-License-Identifier: Apache-2.0
// Connector failures. They are not registered StellaErrors: the ingestion runner maps `code` onto the
// AOC registry. When one document fails, `cursor` is the token that resumes *after* it, so the caller
// can record the failure and carry on instead of hitting the same document forever.

export type ConnectorErrorCode =
  /** The input path or URL does not exist or cannot be read. */
  | 'ERR_CONNECTOR_INPUT'
  /** The cursor was not produced by this connector. */
  | 'ERR_CONNECTOR_CURSOR'
  /** A document (or a sidecar, listing or feed) exceeds its byte cap. */
  | 'ERR_CONNECTOR_TOO_LARGE'
  /** Bytes that cannot be unwrapped: truncated gzip, corrupt zip entry. */
  | 'ERR_CONNECTOR_MALFORMED'
  /** An archive that tries to escape, lie about sizes, hide links or encrypt: refused before it is read on. */
  | 'ERR_CONNECTOR_HOSTILE_ARCHIVE'
  /** An HTTP status that is not retried, or retries exhausted. */
  | 'ERR_CONNECTOR_HTTP'
  /** provider-metadata.json, a ROLIE feed, index.txt or changes.csv that cannot be understood. */
  | 'ERR_CONNECTOR_METADATA';

export class ConnectorError extends Error {
  readonly code: ConnectorErrorCode;
  readonly location: string | undefined;
  readonly cursor: string | undefined;

  constructor(
    code: ConnectorErrorCode,
    message: string,
    options: { location?: string; cursor?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ConnectorError';
    this.code = code;
    this.location = options.location;
    this.cursor = options.cursor;
  }
}
