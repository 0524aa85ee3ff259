// JSON that signals parses itself (NDJSON lines of runtime uploads, base64-wrapped graphs, union-set
// files) is checked against core's caps (depth, members, string length, NUL, lone surrogates) before
// JSON.parse or any recursive walk sees it; Fastify's parser covers application/json bodies.
import { checkJsonLimits, type JsonLimits, lookupError, StellaError } from '@stella/core';

/** checkJsonLimits, with `where` ("line 3", "nodes.ndjson line 2") put in front of a breach's message. */
export function checkJsonAt(text: string, limits: JsonLimits, where: string): void {
  try {
    checkJsonLimits(text, limits);
  } catch (error) {
    const definition = error instanceof StellaError ? lookupError(error.code) : undefined;
    if (!definition) throw error;
    throw new StellaError(definition, `${where}: ${(error as StellaError).message}; nothing was stored`, {
      details: { ...(error as StellaError).details, where },
      cause: error,
    });
  }
}
