// SPDX-License-Identifier: Apache-2.0
// Connector output as the ingestion pipeline wants it: connector failures mapped onto the error
// registry, and a failure of one document (too large, truncated gzip, corrupt zip entry) reported
// and skipped by resuming from the cursor after it, so one bad file cannot stall a source forever.
import { type ErrorDefinition, StellaError } from '@stella/core';
import { type Connector, ConnectorError, type FetchedDocument, type FetchOptions } from '../connectors/index.ts';
import { AocErrors } from '../errors.ts';

const CODES: Record<ConnectorError['code'], ErrorDefinition> = {
  ERR_CONNECTOR_INPUT: AocErrors.connectorInput,
  ERR_CONNECTOR_CURSOR: AocErrors.connectorCursor,
  ERR_CONNECTOR_TOO_LARGE: AocErrors.documentTooLarge,
  ERR_CONNECTOR_MALFORMED: AocErrors.malformedDocument,
  ERR_CONNECTOR_HOSTILE_ARCHIVE: AocErrors.hostileArchive,
  ERR_CONNECTOR_HTTP: AocErrors.connectorFetch,
  ERR_CONNECTOR_METADATA: AocErrors.connectorMetadata,
};

/** Failures confined to one document; the run carries on after it. */
const PER_DOCUMENT = new Set<ConnectorError['code']>(['ERR_CONNECTOR_TOO_LARGE', 'ERR_CONNECTOR_MALFORMED']);

export function mapConnectorError(error: ConnectorError): StellaError {
  const where = error.location ? `${error.location}: ` : '';
  const message = error.message.startsWith(where) ? error.message : `${where}${error.message}`;
  return new StellaError(CODES[error.code], message, { cause: error });
}

export async function* fetchDocuments(
  connector: Connector,
  options: FetchOptions,
  onReject: (location: string | undefined, error: StellaError) => void,
): AsyncGenerator<FetchedDocument> {
  let cursor = options.cursor;
  for (;;) {
    try {
      for await (const doc of connector.fetch({ ...options, ...(cursor ? { cursor } : {}) })) {
        cursor = doc.cursor;
        yield doc;
      }
      return;
    } catch (error) {
      if (!(error instanceof ConnectorError)) throw error;
      if (PER_DOCUMENT.has(error.code) && error.cursor !== undefined && error.cursor !== cursor) {
        onReject(error.location, mapConnectorError(error));
        cursor = error.cursor;
        continue;
      }
      throw mapConnectorError(error);
    }
  }
}
