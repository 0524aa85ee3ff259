// SPDX-License-Identifier: Apache-2.0
// What the connector tests share: fixed clock and limits, draining a connector, and asserting a
// ConnectorError. Not a test file itself.
import assert from 'node:assert/strict';
import { fixedClock } from '@stella/core';
import { type Connector, ConnectorError, type FetchedDocument, type FetchOptions } from '../src/connectors/index.ts';

export const clock = fixedClock('2026-11-25T12:00:00.000Z');

export function fetchOptions(
  input: string,
  extra: Partial<FetchOptions> = {},
  documentBytes = 1024 * 1024,
): FetchOptions {
  return {
    input,
    now: clock.now,
    limits: { documentBytes, decompressedBytes: 64 * 1024 * 1024, archiveEntries: 10_000 },
    ...extra,
  };
}

/** Every document the connector hands over, or the first `stopAfter`. */
export async function drain(connector: Connector, options: FetchOptions, stopAfter = Infinity) {
  const documents: FetchedDocument[] = [];
  for await (const doc of connector.fetch(options)) {
    documents.push(doc);
    if (documents.length >= stopAfter) break;
  }
  return documents;
}

export async function rejection(promise: Promise<unknown>): Promise<ConnectorError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ConnectorError, `expected a ConnectorError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}
