// SPDX-License-Identifier: Apache-2.0
// Caps on what a document may hold before anything recursive or the database sees it (config
// `limits`), shared by the server, the connectors and the CLI.
import { DEFAULT_JSON_LIMITS, type JsonLimits } from '@stella/core';

export interface DocumentLimits {
  json: JsonLimits;
  /** Longest upstream id, provenance value and record id (limits.identifierLength). */
  identifierLength: number;
}

export const DEFAULT_DOCUMENT_LIMITS: DocumentLimits = { json: DEFAULT_JSON_LIMITS, identifierLength: 1024 };

/** The document caps of a loaded configuration's `limits` section. */
export function documentLimitsOf(limits: {
  jsonDepth: number;
  jsonKeys: number;
  jsonStringLength: number;
  identifierLength: number;
}): DocumentLimits {
  return {
    json: { maxDepth: limits.jsonDepth, maxKeys: limits.jsonKeys, maxStringLength: limits.jsonStringLength },
    identifierLength: limits.identifierLength,
  };
}
