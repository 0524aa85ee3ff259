// SPDX-License-Identifier: Apache-2.0
// Go module versions (go.dev/ref/mod "Versions", "Pseudo-versions"): canonical SemVer vMAJOR.MINOR.PATCH
// with the leading `v` (optional here, because OSV's Go records drop it), prereleases by SemVer
// precedence, which is what orders pseudo-versions (vX.Y.Z-yyyymmddhhmmss-hash, vX.Y.(Z+1)-0.…,
// vX.Y.Z-pre.0.…) between the releases around their commit. `+incompatible` is the only build suffix a
// module version may carry (golang.org/x/mod/module.CheckVersion) and does not take part in ordering.

import { invalid, type VersionScheme } from './scheme.ts';
import { compareSemVer, parseSemVer, type SemVer } from './semver.ts';

export const goScheme: VersionScheme<SemVer> = {
  id: 'go-module',
  rule: 'Go module versions: canonical vMAJOR.MINOR.PATCH (v optional), SemVer precedence so pseudo-versions sort as prereleases; +incompatible ignored',
  parse(text) {
    if (/^v?[0-9]+(\.[0-9]+)?([-+].*)?$/.test(text))
      invalid(
        'a Go module version must be canonical vMAJOR.MINOR.PATCH (shorthands like v1 or v1.2 are not module versions)',
      );
    const version = parseSemVer(text, { allowV: true });
    if (version.build.length > 0 && !(version.build.length === 1 && version.build[0] === 'incompatible'))
      invalid('the only build suffix a Go module version may carry is +incompatible');
    return version;
  },
  compare: compareSemVer,
};
