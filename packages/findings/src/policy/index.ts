// SPDX-License-Identifier: Apache-2.0
// The findings room's policy language (docs/policy.md): parse and lint a policy, evaluate findings
// under it, summarise the verdicts, and render them for a pull request. Pure: no I/O, time passed in.
export { cvss2BaseScore, cvss3BaseScore } from './cvss.ts';
export type { PolicyDecision, PolicySummary } from './evaluate.ts';
export { evaluateFinding, exceptionEnd, NO_RULE, NO_RULE_VERDICT, summarize } from './evaluate.ts';
export type { PolicyDiagnostic } from './lint.ts';
export type { MarkdownSummaryInput } from './markdown.ts';
export { MAX_FINDING_ROWS, markdownSummary } from './markdown.ts';
export type { ParsedPolicy } from './parse.ts';
export { canonicalPolicy, EXPIRY_WARNING_DAYS, MAX_POLICY_BYTES, parsePolicy } from './parse.ts';
export type { Policy, PolicyCondition, PolicyException, PolicyRule, TrustLevel, Verdict } from './schema.ts';
export { POLICY_API_VERSION, PolicySchema } from './schema.ts';
export type { KnownSeverity, SeverityLevel, SeveritySourceSelector } from './severity.ts';
export { findingLevel, SEVERITY_LEVELS } from './severity.ts';
export type { EffectiveVexStatus } from './vex.ts';
