// SPDX-License-Identifier: Apache-2.0
// The structural check of a policy: walks PolicySchema (the JSON Schema subset it uses) over the YAML
// nodes rather than over the parsed value, so every diagnostic carries the line and column of the
// node at fault. Unknown fields are errors: a misspelt condition would otherwise match everything.
import { type Document, isAlias, isMap, isScalar, isSeq, type LineCounter, type Node } from 'yaml';
import { globProblem } from './glob.ts';
import { PolicySchema } from './schema.ts';

export interface PolicyDiagnostic {
  severity: 'error' | 'warning';
  code: string;
  message: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** JSON pointer (RFC 6901) of the value at fault; "" for the document. */
  path: string;
}

interface JsonSchema {
  type?: string;
  const?: unknown;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
}

// A plain copy: TypeBox marks optional members with symbols the walker need not see.
const ROOT: JsonSchema = JSON.parse(JSON.stringify(PolicySchema));

export interface LintContext {
  doc: Document;
  lines: LineCounter;
  diagnostics: PolicyDiagnostic[];
  /** Alias uses the walk still follows; set to MAX_ALIAS_USES when the walk starts. */
  aliasesLeft?: number;
}

// Each alias use re-walks its anchor, so nested anchors multiply (the "billion laughs" document). A
// policy reuses a package list a few times at most; the yaml package's toJS stops at the same count.
const MAX_ALIAS_USES = 100;

export function pointer(path: readonly (string | number)[]): string {
  return path.map((p) => `/${String(p).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

export function report(
  ctx: LintContext,
  at: { offset: number; path: readonly (string | number)[] },
  severity: PolicyDiagnostic['severity'],
  code: string,
  message: string,
): void {
  const { line, col } = ctx.lines.linePos(at.offset);
  ctx.diagnostics.push({ severity, code, message, line, column: col, path: pointer(at.path) });
}

function kindOf(node: unknown): string {
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a sequence';
  if (!isScalar(node) || node.value === null || node.value === undefined) return 'nothing (null)';
  const value = node.value;
  return typeof value === 'string' ? `the string ${JSON.stringify(value)}` : `${typeof value} ${String(value)}`;
}

const WANTED: Record<string, string> = {
  object: 'a mapping',
  array: 'a sequence',
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
};

interface Walk {
  node: unknown;
  schema: JsonSchema;
  path: (string | number)[];
  /** Where to point when the node has no range (an empty value): its parent's offset. */
  offset: number;
}

function offsetOf(node: unknown, fallback: number): number {
  return (node as Node | null)?.range?.[0] ?? fallback;
}

/** Checks one node against its schema, recursing into mappings and sequences. */
export function walk(ctx: LintContext, w: Walk): void {
  const at = { offset: offsetOf(w.node, w.offset), path: w.path };
  if (isAlias(w.node)) {
    ctx.aliasesLeft = (ctx.aliasesLeft ?? MAX_ALIAS_USES) - 1;
    if (ctx.aliasesLeft === -1)
      report(ctx, at, 'error', 'too-large', `more than ${MAX_ALIAS_USES} alias uses (*name); write the values out`);
    if (ctx.aliasesLeft < 0) return;
  }
  const node = isAlias(w.node) ? w.node.resolve(ctx.doc) : w.node;
  const { schema } = w;
  const choices = schema.enum ?? (schema.const === undefined ? undefined : [schema.const]);
  if (choices) {
    const value = isScalar(node) ? node.value : undefined;
    if (!choices.includes(value))
      report(
        ctx,
        at,
        'error',
        'bad-enum',
        `expected ${choices.map((c) => JSON.stringify(c)).join(' or ')}, found ${kindOf(node)}`,
      );
    return;
  }
  if (schema.type === 'object') walkMap(ctx, w, node, at.offset);
  else if (schema.type === 'array') walkSeq(ctx, w, node, at);
  else walkScalar(ctx, schema, node, at);
}

function seqProblem(schema: JsonSchema, node: unknown): string | undefined {
  if (!isSeq(node)) return `expected a sequence, found ${kindOf(node)}`;
  if (schema.minItems !== undefined && node.items.length < schema.minItems)
    return `needs at least ${schema.minItems} item${schema.minItems === 1 ? '' : 's'}`;
  if (schema.maxItems !== undefined && node.items.length > schema.maxItems)
    return `has ${node.items.length} items; at most ${schema.maxItems} are allowed`;
  return undefined;
}

function walkSeq(ctx: LintContext, w: Walk, node: unknown, at: { offset: number; path: (string | number)[] }): void {
  const problem = seqProblem(w.schema, node);
  if (problem !== undefined) report(ctx, at, 'error', isSeq(node) ? 'bad-value' : 'wrong-type', problem);
  else if (isSeq(node))
    node.items.forEach((item, i) => {
      walk(ctx, { node: item, schema: w.schema.items ?? {}, path: [...w.path, i], offset: at.offset });
    });
}

function walkMap(ctx: LintContext, w: Walk, node: unknown, offset: number): void {
  const at = { offset, path: w.path };
  if (!isMap(node)) {
    report(ctx, at, 'error', 'wrong-type', `expected a mapping, found ${kindOf(node)}`);
    return;
  }
  const properties = w.schema.properties ?? {};
  const seen = new Set<string>();
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? pair.key.value : undefined;
    const keyOffset = offsetOf(pair.key, offset);
    if (typeof key !== 'string') {
      report(
        ctx,
        { offset: keyOffset, path: w.path },
        'error',
        'wrong-type',
        `field names must be strings, found ${kindOf(pair.key)}`,
      );
      continue;
    }
    seen.add(key);
    const child = properties[key];
    if (child === undefined) {
      const known = Object.keys(properties).join(', ');
      report(
        ctx,
        { offset: keyOffset, path: [...w.path, key] },
        'error',
        'unknown-field',
        `unknown field "${key}" (known here: ${known})`,
      );
      continue;
    }
    walk(ctx, { node: pair.value, schema: child, path: [...w.path, key], offset: keyOffset });
  }
  for (const name of w.schema.required ?? [])
    if (!seen.has(name)) report(ctx, at, 'error', 'missing-field', `missing required field "${name}"`);
}

function walkScalar(
  ctx: LintContext,
  schema: JsonSchema,
  node: unknown,
  at: { offset: number; path: (string | number)[] },
): void {
  const value = isScalar(node) ? node.value : undefined;
  const type = schema.type ?? '';
  const typed =
    type === 'string'
      ? typeof value === 'string'
      : type === 'boolean'
        ? typeof value === 'boolean'
        : typeof value === 'number' && Number.isFinite(value) && (type === 'number' || Number.isInteger(value));
  if (!typed) {
    report(ctx, at, 'error', 'wrong-type', `expected ${WANTED[type] ?? type}, found ${kindOf(node)}`);
    return;
  }
  const problem = typeof value === 'string' ? stringProblem(schema, value) : numberProblem(schema, value as number);
  if (problem) report(ctx, at, 'error', problem.code, problem.message);
}

function stringProblem(schema: JsonSchema, value: string): { code: string; message: string } | undefined {
  const length = [...value].length;
  if (schema.minLength !== undefined && length < schema.minLength)
    return {
      code: 'bad-value',
      message: schema.minLength === 1 ? 'cannot be empty' : `is shorter than ${schema.minLength} characters`,
    };
  if (schema.maxLength !== undefined && length > schema.maxLength)
    return { code: 'bad-value', message: `is longer than ${schema.maxLength} characters` };
  if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value))
    return { code: 'bad-value', message: `${JSON.stringify(value)} does not match ${schema.pattern}` };
  if (schema.format === 'glob') {
    const problem = globProblem(value);
    return problem === undefined ? undefined : { code: 'bad-glob', message: `${JSON.stringify(value)}: ${problem}` };
  }
  if (schema.format === 'date' && !isCalendarDate(value))
    return {
      code: 'invalid-date',
      message: `${JSON.stringify(value)} is not a date: write YYYY-MM-DD, e.g. 2027-01-31`,
    };
  return undefined;
}

function numberProblem(schema: JsonSchema, value: number): { code: string; message: string } | undefined {
  if (schema.minimum !== undefined && value < schema.minimum)
    return { code: 'bad-value', message: `${value} is below the minimum ${schema.minimum}` };
  if (schema.maximum !== undefined && value > schema.maximum)
    return { code: 'bad-value', message: `${value} is above the maximum ${schema.maximum}` };
  return undefined;
}

/** YYYY-MM-DD naming a day that exists (2027-02-30 does not). */
export function isCalendarDate(text: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/** Lints the whole document against PolicySchema. */
export function lintStructure(ctx: LintContext): void {
  walk(ctx, { node: ctx.doc.contents, schema: ROOT, path: [], offset: 0 });
}
