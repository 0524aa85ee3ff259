// SPDX-License-Identifier: Apache-2.0
// Evaluates one finding under a policy, purely: exceptions first (the first unexpired one that names
// the finding decides), then the rules in order (the first whose `when` holds decides). Every fact
// the decision read (severity, effective VEX, reachability, KEV, EPSS) is returned with it, so a
// stored decision explains itself without re-running the policy.
import type { EvidenceFinding, ReachabilityState } from '../evidence/model.ts';
import { type CompiledGlob, compileGlob } from './glob.ts';
import type { Policy, PolicyCondition, PolicyException, Verdict } from './schema.ts';
import { findingLevel, type SeverityLevel, severityRank } from './severity.ts';
import { type EffectiveVexStatus, effectiveVexStatus, type TrustResolver, trustResolver } from './vex.ts';

export interface PolicyDecision {
  verdict: Verdict;
  /** The deciding rule's id, `exception:<id>` when an exception decided, or NO_RULE when nothing matched. */
  rule: string;
  exception?: string;
  /** Exceptions that name this finding but expired before the evaluation time, in policy order. */
  expiredExceptions?: string[];
  /** The highest level over the finding's sources (unknown when none gives a readable one). */
  severity: SeverityLevel;
  vexStatus: EffectiveVexStatus;
  reachability: ReachabilityState;
  kev: boolean;
  /** The highest EPSS probability over sources, when any gives one. */
  epss?: number;
}

/** The `rule` of a decision no rule matched; a rule id cannot contain parentheses, so it never collides. */
export const NO_RULE = '(none)';
/** The verdict when no rule matches: warn, so a finding the rules forgot is seen rather than passed. */
export const NO_RULE_VERDICT: Verdict = 'warn';

const DAY_MS = 86_400_000;

/** The instant an exception stops applying: the end (UTC) of its `expires` day. */
export function exceptionEnd(expires: string): number {
  return Date.parse(`${expires}T00:00:00Z`) + DAY_MS;
}

interface CompiledCondition {
  source: PolicyCondition;
  packages?: CompiledGlob[];
  vulnerabilities?: CompiledGlob[];
  paths?: CompiledGlob[];
}

interface CompiledPolicy {
  trust: TrustResolver;
  rules: { id: string; verdict: Verdict; when?: CompiledCondition }[];
  exceptions: { source: PolicyException; vulnerability: string; package?: CompiledGlob; end: number }[];
}

// Globs compiled once per policy object. parsePolicy freezes what it returns; a caller that builds a
// Policy by hand must not change it after evaluating with it.
const compiledPolicies = new WeakMap<Policy, CompiledPolicy>();

const globs = (list: readonly string[] | undefined, ignoreCase = false) =>
  list?.map((text) => compileGlob(text, { ignoreCase }));

function compile(policy: Policy): CompiledPolicy {
  let compiled = compiledPolicies.get(policy);
  if (compiled) return compiled;
  compiled = {
    trust: trustResolver(policy.vex),
    rules: policy.rules.map((rule) => {
      if (!rule.when) return { id: rule.id, verdict: rule.verdict };
      const { package: packages, vulnerability, path } = rule.when;
      const when: CompiledCondition = { source: rule.when };
      const [p, v, w] = [globs(packages), globs(vulnerability, true), globs(path)];
      if (p) when.packages = p;
      if (v) when.vulnerabilities = v;
      if (w) when.paths = w;
      return { id: rule.id, verdict: rule.verdict, when };
    }),
    exceptions: (policy.exceptions ?? []).map((source) => ({
      source,
      vulnerability: source.vulnerability.toLowerCase(),
      ...(source.package === undefined ? {} : { package: compileGlob(source.package) }),
      end: exceptionEnd(source.expires),
    })),
  };
  compiledPolicies.set(policy, compiled);
  return compiled;
}

interface Facts {
  finding: EvidenceFinding;
  ids: string[];
  decision: Omit<PolicyDecision, 'verdict' | 'rule'>;
}

function factsOf(finding: EvidenceFinding, trust: TrustResolver): Facts {
  const sources = finding.sources ?? [];
  let epss: number | undefined;
  for (const s of sources) if (s.epss && (epss === undefined || s.epss.score > epss)) epss = s.epss.score;
  const decision: Facts['decision'] = {
    severity: findingLevel(sources),
    vexStatus: effectiveVexStatus(finding.vex ?? [], trust),
    reachability: finding.reachability?.state ?? 'unknown',
    kev: sources.some((s) => s.kev !== undefined),
  };
  if (epss !== undefined) decision.epss = epss;
  const ids = [finding.vulnerabilityId, ...(finding.aliases ?? [])];
  return { finding, ids, decision };
}

function severityHolds(condition: NonNullable<PolicyCondition['severity']>, facts: Facts): boolean {
  const source = condition.source ?? 'any';
  const level = source === 'any' ? facts.decision.severity : findingLevel(facts.finding.sources ?? [], source);
  if (condition.atLeast !== undefined && severityRank(level) < severityRank(condition.atLeast)) return false;
  return condition.in === undefined || condition.in.includes(level);
}

const anyGlob = (list: CompiledGlob[] | undefined, values: readonly string[]) =>
  list === undefined || values.some((value) => list.some((glob) => glob.test(value)));

function conditionHolds(when: CompiledCondition, facts: Facts): boolean {
  const c = when.source;
  const { decision, finding } = facts;
  if (c.severity && !severityHolds(c.severity, facts)) return false;
  if (c.kev !== undefined && c.kev !== decision.kev) return false;
  if (c.epss && !(decision.epss !== undefined && decision.epss >= c.epss.atLeast)) return false;
  if (c.vex && !c.vex.includes(decision.vexStatus)) return false;
  if (c.reachability && !c.reachability.includes(decision.reachability)) return false;
  if (c.fixAvailable !== undefined && c.fixAvailable !== (finding.fixedVersions ?? []).length > 0) return false;
  if (!anyGlob(when.packages, [finding.component.purl])) return false;
  if (!anyGlob(when.vulnerabilities, facts.ids)) return false;
  return anyGlob(when.paths, finding.reachability?.path ?? []);
}

function exceptionNames(exception: CompiledPolicy['exceptions'][number], facts: Facts): boolean {
  if (!facts.ids.some((id) => id.toLowerCase() === exception.vulnerability)) return false;
  return exception.package === undefined || exception.package.test(facts.finding.component.purl);
}

export function evaluateFinding(policy: Policy, finding: EvidenceFinding, at: Date): PolicyDecision {
  // An invalid Date compares false with every expiry, so every exception would apply forever.
  if (Number.isNaN(at.getTime())) throw new RangeError('evaluateFinding: at is an invalid Date');
  const compiled = compile(policy);
  const facts = factsOf(finding, compiled.trust);
  const expired: string[] = [];
  let decided: Pick<PolicyDecision, 'verdict' | 'rule' | 'exception'> | undefined;
  for (const exception of compiled.exceptions) {
    if (!exceptionNames(exception, facts)) continue;
    if (at.getTime() >= exception.end) expired.push(exception.source.id);
    else if (!decided) {
      const { id, verdict } = exception.source;
      decided = { verdict: verdict ?? 'pass', rule: `exception:${id}`, exception: id };
    }
  }
  if (!decided) {
    const rule = compiled.rules.find((r) => r.when === undefined || conditionHolds(r.when, facts));
    decided = rule ? { verdict: rule.verdict, rule: rule.id } : { verdict: NO_RULE_VERDICT, rule: NO_RULE };
  }
  return { ...decided, ...(expired.length > 0 ? { expiredExceptions: expired } : {}), ...facts.decision };
}

export interface PolicySummary {
  counts: Record<Verdict, number>;
  thresholdCrossed: boolean;
  /** The verdicts whose threshold was crossed, fail first: `fail` above thresholds.fail (default 0), `warn` above thresholds.warn (no default). */
  crossed: Verdict[];
}

export function summarize(decisions: readonly Pick<PolicyDecision, 'verdict'>[], policy: Policy): PolicySummary {
  const counts: Record<Verdict, number> = { pass: 0, warn: 0, fail: 0 };
  for (const d of decisions) counts[d.verdict]++;
  const crossed: Verdict[] = [];
  if (counts.fail > (policy.thresholds?.fail ?? 0)) crossed.push('fail');
  const warnLimit = policy.thresholds?.warn;
  if (warnLimit !== undefined && counts.warn > warnLimit) crossed.push('warn');
  return { counts, thresholdCrossed: crossed.length > 0, crossed };
}
