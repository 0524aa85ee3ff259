// SPDX-License-Identifier: Apache-2.0
// The json:policy adapter (spec §2.1: "json:raw plus a policy snapshot and evaluated findings"): the
// json:raw files, then data/policy/snapshot.json (the run's signed policy snapshot as the findings
// room exports it) and data/policy/evaluations.jsonl (each stored finding evaluated under that
// snapshot, in finding-id order). Findings are evaluated as of their own evaluation time, so the
// same rows under the same snapshot give the same bytes, and the bundle digest proves a replay.
import { createHash } from 'node:crypto';
import { canonicalJson, StellaError } from '@stella/core';
import { countFindingsForExport, type ExportedSnapshot, streamEvaluationsForExport } from '@stella/findings';
import { ExportErrors } from '../errors.ts';
import type { ExportProfile } from '../profiles/schema.ts';
import { loadRunSnapshot } from '../service/submission.ts';
import type {
  AdapterInput,
  AdapterOutput,
  ExportAdapter,
  ProfileProblem,
  Selection,
  SerialiseContext,
  StagedFile,
} from './adapter.ts';
import { countRaw, RAW_FAMILIES, refuseUnsupported, serialiseRaw } from './json-raw.ts';
import { JSONL_CONTENT_TYPE, materialLine, type PayloadWriter, payloadWriter } from './payload.ts';

export const SNAPSHOT_PATH = 'data/policy/snapshot.json';
export const EVALUATIONS_PATH = 'data/policy/evaluations.jsonl';
const FINDINGS = 'findings';
const WRITABLE: readonly string[] = [...RAW_FAMILIES, FINDINGS];
/** What a json:policy profile without `include` exports. */
const DEFAULT_FAMILIES: readonly string[] = ['advisories', 'vex', FINDINGS];
const familiesOf = (profile: ExportProfile): readonly string[] => profile.spec.include ?? DEFAULT_FAMILIES;

/** json:raw's refusals, and a profile that forbids the snapshot this format is built around. */
function refuse(profile: ExportProfile): ProfileProblem[] {
  const problems = refuseUnsupported(profile, 'json:policy', WRITABLE);
  if (profile.spec.policySnapshotMode === 'none') {
    problems.push({
      pointer: '/spec/policySnapshotMode',
      message: 'json:policy bundles carry a policy snapshot; use policySnapshotMode required or optional',
    });
  }
  return problems;
}

async function select(input: AdapterInput): Promise<Selection> {
  const families = familiesOf(input.profile);
  let total = await countRaw(input, families);
  if (families.includes(FINDINGS)) total += await countFindingsForExport(input.db, input.tenant);
  return { total, families };
}

/** The run's snapshot: json:policy is always submitted with one (its active one at the latest). */
async function runSnapshot(context: SerialiseContext): Promise<ExportedSnapshot> {
  if (!context.policySnapshotId) {
    throw new StellaError(ExportErrors.validation, 'a json:policy run needs a policy snapshot; submit it again');
  }
  return loadRunSnapshot(context.db, context.tenant, context.policySnapshotId);
}

/** snapshot.json: the snapshot as canonical JSON, and its materials line (its id is its digest). */
async function serialiseSnapshot(snapshot: ExportedSnapshot, writer: PayloadWriter): Promise<StagedFile> {
  const out = writer.stage(SNAPSHOT_PATH);
  await out.write(`${canonicalJson(snapshot)}\n`);
  await writer.material(materialLine(snapshot.id, `stella://policy_snapshot/${snapshot.id}`, snapshot.id), 1);
  writer.seen(snapshot.createdAt);
  return out.close(1, 'application/json');
}

/** evaluations.jsonl: one canonical EvaluationRecord per line; its materials digest is the line's sha256 (without the newline). */
async function serialiseEvaluations(
  context: SerialiseContext,
  snapshot: ExportedSnapshot,
  writer: PayloadWriter,
): Promise<StagedFile> {
  const out = writer.stage(EVALUATIONS_PATH);
  let records = 0;
  for await (const page of streamEvaluationsForExport(context.db, context.tenant, snapshot, context.pageSize)) {
    let lines = '';
    let materialLines = '';
    for (const evaluation of page) {
      const line = canonicalJson(evaluation);
      lines += `${line}\n`;
      const digest = createHash('sha256').update(line, 'utf8').digest('hex');
      materialLines += materialLine(evaluation.id, `stella://finding/${encodeURIComponent(evaluation.id)}`, digest);
      writer.seen(evaluation.evaluatedAt);
    }
    await out.write(lines);
    await writer.material(materialLines, page.length);
    records += page.length;
    await writer.report(page.length);
  }
  return out.close(records, JSONL_CONTENT_TYPE);
}

async function serialise(context: SerialiseContext, selection: Selection): Promise<AdapterOutput> {
  const snapshot = await runSnapshot(context);
  const writer = payloadWriter(context, selection);
  const files = await serialiseRaw(context, selection.families, writer);
  if (selection.families.includes(FINDINGS)) files.push(await serialiseEvaluations(context, snapshot, writer));
  files.push(await serialiseSnapshot(snapshot, writer));
  return writer.finish(files);
}

export const jsonPolicyAdapter: ExportAdapter = {
  kind: 'json',
  variant: 'policy',
  payloadPrefix: 'data/',
  needsPolicySnapshot: true,
  refuse,
  select,
  serialise,
};
