// SPDX-License-Identifier: Apache-2.0
// CRAN package versions (R's package_version / numeric_version, "Writing R Extensions" §1.1.1): at
// least two non-negative integers separated by `.` or `-`, compared as integer lists; leading zeros
// do not count (1.01 = 1.1) and a prefix sorts first (1.0 < 1.0.0), as R's comparison operators do.
import { compareNumberLists } from './hackage.ts';
import { invalid, type VersionScheme } from './scheme.ts';

export const cranScheme: VersionScheme<readonly string[]> = {
  id: 'r-package-version',
  rule: 'R package_version: integers separated by "." or "-", compared as a list, a prefix sorts first',
  parse(text) {
    if (!/^[0-9]+(?:[.-][0-9]+)+$/.test(text))
      invalid('a CRAN version is at least two non-negative integers separated by "." or "-" (e.g. 1.2-3)');
    return text.split(/[.-]/);
  },
  compare: compareNumberLists,
};
