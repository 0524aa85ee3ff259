// SPDX-License-Identifier: Apache-2.0
// parsePolicy: YAML text to a Policy and a compiler's list of diagnostics (line and column from the
// `yaml` package's LineCounter). Structure first (lint.ts), then what the schema cannot say: unique
// ids, one severity test per condition, exceptions that expired or are about to, unreachable rules.
// Any error leaves no policy: a half-read policy would decide findings the author never meant.
import { canonicalJson } from '@stella/core';
import { isNode, LineCounter, type Node, parseDocument } from 'yaml';
import { exceptionEnd } from './evaluate.ts';
import { type LintContext, lintStructure, type PolicyDiagnostic, report } from './lint.ts';
import type { Policy } from './schema.ts';

/** A policy is a page or two of YAML; a megabyte is a mistake (or an attack on the linter), not a policy. */
export const MAX_POLICY_BYTES = 1024 * 1024;
/** An exception expiring sooner than this is warned about, so it is renewed before a build breaks on it. */
export const EXPIRY_WARNING_DAYS = 14;
const DAY_MS = 86_400_000;

export interface ParsedPolicy {
  policy?: Policy;
  diagnostics: PolicyDiagnostic[];
}

function nodeAt(
  ctx: LintContext,
  path: readonly (string | number)[],
): { offset: number; path: readonly (string | number)[] } {
  const node: unknown = ctx.doc.getIn(path, true);
  return { offset: isNode(node) ? ((node as Node).range?.[0] ?? 0) : 0, path };
}

function lineOf(ctx: LintContext, path: readonly (string | number)[]): number {
  return ctx.lines.linePos(nodeAt(ctx, path).offset).line;
}

function checkIds(ctx: LintContext, list: readonly { id: string }[], field: 'rules' | 'exceptions'): void {
  const first = new Map<string, number>();
  list.forEach(({ id }, i) => {
    const earlier = first.get(id);
    if (earlier === undefined) first.set(id, i);
    else {
      const what = field === 'rules' ? 'rule' : 'exception';
      const line = lineOf(ctx, [field, earlier]);
      report(
        ctx,
        nodeAt(ctx, [field, i, 'id']),
        'error',
        'duplicate-id',
        `${what} id "${id}" is already used by ${field}[${earlier}] (line ${line})`,
      );
    }
  });
}

function checkRules(ctx: LintContext, policy: Policy): void {
  checkIds(ctx, policy.rules, 'rules');
  policy.rules.forEach((rule, i) => {
    const severity = rule.when?.severity;
    if (severity && (severity.atLeast === undefined) === (severity.in === undefined))
      report(
        ctx,
        nodeAt(ctx, ['rules', i, 'when', 'severity']),
        'error',
        'bad-value',
        'give exactly one of atLeast and in',
      );
  });
  // `when: {}` states no condition either, so it matches every finding just as a rule without when.
  const catchAll = policy.rules.findIndex((rule) => rule.when === undefined || Object.keys(rule.when).length === 0);
  if (catchAll < 0) return;
  const catchAllId = policy.rules[catchAll]?.id ?? '';
  for (let i = catchAll + 1; i < policy.rules.length; i++) {
    const message = `rule "${policy.rules[i]?.id}" can never match: rule "${catchAllId}" (line ${lineOf(ctx, ['rules', catchAll])}) has no when and decides every finding before it`;
    report(ctx, nodeAt(ctx, ['rules', i]), 'warning', 'unreachable-rule', message);
  }
}

function checkExceptions(ctx: LintContext, policy: Policy, now: Date): void {
  const exceptions = policy.exceptions ?? [];
  checkIds(ctx, exceptions, 'exceptions');
  exceptions.forEach((exception, i) => {
    const left = exceptionEnd(exception.expires) - now.getTime();
    const at = nodeAt(ctx, ['exceptions', i, 'expires']);
    if (left <= 0) {
      const message = `exception "${exception.id}" expired on ${exception.expires} (it applied through the end of that day, UTC): renew it with a later expires or remove it`;
      report(ctx, at, 'error', 'exception-expired', message);
    } else if (left <= EXPIRY_WARNING_DAYS * DAY_MS) {
      const days = Math.ceil(left / DAY_MS);
      const message = `exception "${exception.id}" expires at the end of ${exception.expires} (UTC), in ${days} day${days === 1 ? '' : 's'}: renew it or fix the finding`;
      report(ctx, at, 'warning', 'exception-expiring', message);
    }
  });
}

/** The schema's generic codes, renamed where the policy language names the mistake. */
function renameStructural(d: PolicyDiagnostic): PolicyDiagnostic {
  if (d.path === '' && d.code === 'missing-field' && d.message === 'missing required field "rules"')
    return { ...d, code: 'no-rules', message: 'the policy has no rules: add at least one' };
  if (d.path === '/rules' && d.code === 'bad-value')
    return { ...d, code: 'no-rules', message: 'the policy has no rules: add at least one' };
  if (d.code === 'missing-field' && /^\/exceptions\/\d+$/.test(d.path) && d.message.endsWith('"expires"'))
    return {
      ...d,
      code: 'exception-no-expiry',
      message: 'an exception needs expires (YYYY-MM-DD): exceptions that never expire are never reviewed',
    };
  return d;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}

function byPosition(a: PolicyDiagnostic, b: PolicyDiagnostic): number {
  return a.line - b.line || a.column - b.column;
}

export function parsePolicy(text: string, options: { now: Date }): ParsedPolicy {
  if (Number.isNaN(options.now.getTime())) throw new RangeError('parsePolicy: now is an invalid Date');
  const lines = new LineCounter();
  const diagnostics: PolicyDiagnostic[] = [];
  if (Buffer.byteLength(text, 'utf8') > MAX_POLICY_BYTES) {
    const message = `the policy is larger than ${MAX_POLICY_BYTES} bytes`;
    return { diagnostics: [{ severity: 'error', code: 'too-large', message, line: 1, column: 1, path: '' }] };
  }
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const ctx: LintContext = { doc, lines, diagnostics };
  for (const error of doc.errors)
    report(ctx, { offset: error.pos[0], path: [] }, 'error', 'yaml-syntax', error.message);
  for (const warning of doc.warnings)
    report(ctx, { offset: warning.pos[0], path: [] }, 'warning', 'yaml-warning', warning.message);
  if (doc.errors.length > 0) return { diagnostics: diagnostics.sort(byPosition) };
  lintStructure(ctx);
  ctx.diagnostics = diagnostics.splice(0).map(renameStructural);
  if (ctx.diagnostics.some((d) => d.severity === 'error')) return { diagnostics: ctx.diagnostics.sort(byPosition) };
  let policy: Policy;
  try {
    policy = doc.toJS({ maxAliasCount: 100 }) as Policy;
  } catch (error) {
    report(ctx, { offset: 0, path: [] }, 'error', 'yaml-syntax', (error as Error).message);
    return { diagnostics: ctx.diagnostics.sort(byPosition) };
  }
  checkRules(ctx, policy);
  checkExceptions(ctx, policy, options.now);
  const sorted = ctx.diagnostics.sort(byPosition);
  if (sorted.some((d) => d.severity === 'error')) return { diagnostics: sorted };
  return { policy: deepFreeze(policy), diagnostics: sorted };
}

/** The bytes a policy snapshot's digest is taken over: canonical JSON (sorted keys, no whitespace). */
export function canonicalPolicy(policy: Policy): string {
  return canonicalJson(policy);
}
