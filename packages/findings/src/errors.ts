// SPDX-License-Identifier: Apache-2.0
// The findings room's coded errors. A version or ecosystem the comparators cannot read is reported
// with the reason, never guessed: a matcher that guessed would mark packages affected or safe wrongly.
// A policy that does not lint is refused whole, with its diagnostics.
import { defineError, ExitCode } from '@stella/core';

export const FindingsErrors = {
  versionUnparseable: defineError({
    code: 'ERR_VERSION_UNPARSEABLE',
    status: 400,
    exit: ExitCode.usage,
    title: 'Version cannot be parsed in its ecosystem',
    hint: 'The message names the ecosystem, the version and the rule it breaks. Fix the version, or name the ecosystem it really comes from; `stella versions ecosystems` lists each scheme and docs/runbooks/versions.md describes its rules.',
  }),
  sbomUnsupported: defineError({
    code: 'ERR_SBOM_UNSUPPORTED',
    status: 415,
    exit: ExitCode.usage,
    title: 'Not an SBOM format stella reads',
    hint: 'Send CycloneDX JSON (1.2–1.6, bomFormat "CycloneDX") or SPDX JSON (2.2, 2.3). Convert XML, tag-value or protobuf SBOMs to JSON first, e.g. with the cyclonedx CLI or the SPDX tools.',
  }),
  sbomInvalid: defineError({
    code: 'ERR_SBOM_INVALID',
    status: 422,
    exit: ExitCode.usage,
    title: 'SBOM structure is invalid',
    hint: 'The message names the member that has the wrong shape. Regenerate the SBOM with its tool, or validate it against the CycloneDX or SPDX JSON schema.',
  }),
  sbomSubjectRequired: defineError({
    code: 'ERR_SBOM_SUBJECT_REQUIRED',
    status: 400,
    exit: ExitCode.usage,
    title: 'SBOM names no subject',
    hint: 'The SBOM has no root component stella can key it by (CycloneDX metadata.component, SPDX documentDescribes). Name its subject: --image-digest sha256:… for an image, or --component <name> --version <version> (query imageDigest, component and version on POST /sboms); --scan-id for a scan.',
  }),
  ecosystemUnknown: defineError({
    code: 'ERR_VERSION_ECOSYSTEM_UNKNOWN',
    status: 400,
    exit: ExitCode.usage,
    title: 'Unknown or unsupported ecosystem',
    hint: 'Use an OSV ecosystem name or one of its aliases (case-insensitive; distribution names may carry a release suffix such as Debian:12); `stella versions ecosystems` lists them.',
  }),
  policyInvalid: defineError({
    code: 'ERR_POLICY_INVALID',
    status: 422,
    exit: ExitCode.usage,
    title: 'Policy is invalid',
    hint: 'The message (and the problem details `diagnostics`) name each error with its line and column. Run `stella policy lint <file>` for the full list; docs/policy.md describes the language. An expired exception must be renewed (a later expires) or removed.',
  }),
  policyNotFound: defineError({
    code: 'ERR_POLICY_NOT_FOUND',
    status: 404,
    exit: ExitCode.notFound,
    title: 'Policy snapshot not found',
    hint: 'Check the snapshot id (sha256:… digest) and the tenant; snapshots of another tenant are reported as not found.',
  }),
  policyThreshold: defineError({
    code: 'ERR_POLICY_THRESHOLD',
    status: 422,
    exit: ExitCode.failure,
    title: "Findings cross the policy's fail or warn threshold",
    hint: 'The output lists the findings that fail or warn and the rule that decided each. Fix them (upgrade to a fixed version, or show they are unreachable or not affected with VEX), or record a reviewed exception with an expiry in the policy; thresholds.fail and thresholds.warn set how many are allowed.',
  }),
};
