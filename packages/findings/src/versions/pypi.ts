// SPDX-License-Identifier: Apache-2.0
// PyPI versions by PEP 440 (packaging.python.org "Version specifiers"), through @renovatebot/pep440,
// a port of pypa/packaging's Version: epoch, release (padded with zeros), dev < pre (a < b < rc) <
// release < post, local versions after the public one. Anything PEP 440 refuses (legacy versions
// such as "french toast") is refused here, as pip does since packaging 22.
import { compare, valid } from '@renovatebot/pep440';
import { invalid, sign, type VersionScheme } from './scheme.ts';

export const pypiScheme: VersionScheme<string> = {
  id: 'pep440',
  rule: 'PEP 440: epoch!, release padded with zeros, .devN < aN < bN < rcN < release < .postN, +local after the public version',
  parse(text) {
    const normalized = valid(text);
    if (normalized === null)
      invalid('not a PEP 440 version (N[.N]…, optional aN/bN/rcN, .postN, .devN, +local; legacy versions are refused)');
    return normalized;
  },
  compare: (a, b) => sign(compare(a, b)),
};
