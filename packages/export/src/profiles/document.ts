// SPDX-License-Identifier: Apache-2.0
// A profile document as people write it: YAML, of which JSON is a subset, so one parser takes both.
// Parsed strictly (duplicate keys refused, aliases bounded against "billion laughs", one document
// only); the schema check (profileProblems) comes after, as for a JSON body.
import { Errors, StellaError } from '@stella/core';
import { parse } from 'yaml';

/** Request content types parsed as a YAML profile document; JSON bodies keep the platform's parser. */
export const PROFILE_YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml'];

/** A profile is a few dozen keys: more aliases than this is an expansion attack, not a profile. */
const MAX_ALIASES = 50;

export function parseProfileText(text: string, source = 'profile document'): unknown {
  try {
    return parse(text, { uniqueKeys: true, maxAliasCount: MAX_ALIASES });
  } catch (error) {
    // The parser's first line names the problem and where ("… at line 2, column 1:").
    const first = (error as Error).message.split('\n')[0]!.replace(/:$/, '');
    const at = / at line \d+, column \d+$/.exec(first)?.[0] ?? '';
    const reason = first.startsWith('Source contains multiple documents')
      ? `more than one YAML document (---)${at}; send one profile`
      : first;
    throw new StellaError(Errors.malformedBody, `${source} is not valid YAML or JSON: ${reason}`, { cause: error });
  }
}
