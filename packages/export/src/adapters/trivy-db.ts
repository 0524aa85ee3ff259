// SPDX-License-Identifier: Apache-2.0
// The trivy:db adapter (spec §2.5 "Trivy adapter", docs/trivy.md): a Trivy vulnerability database
// (schema 2) built from the tenant's head raw advisories. The raw documents are read, never changed:
// trivy/ builds a projection of them into Trivy's buckets, bolt/ writes that as trivy.db, and the
// bundle carries
//   trivy/db.bundle     gzip tar of metadata.json and trivy.db, exactly Trivy's OCI layer (db.tar.gz)
//   trivy/report.json   what was left out of the database and why (unparseable ranges, unknown ecosystems…)
//   signatures/trivy-db.sig  cosign-style signature over trivy/db.bundle (added by the worker)
// and, with the `oci` distribution, db.bundle is pushed as Trivy's artifact under the schema version tag.
// Every time inside (metadata.json's UpdatedAt, the tar mtime, the OCI created annotation) is the
// data time or SOURCE_DATE_EPOCH, so two runs over the same advisories give the same bytes.
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { countRawForExport, streamRawForExport, upstreamWithdrawn } from '@stella/aoc';
import { canonicalJson, StellaError } from '@stella/core';
import { writeBolt } from '../bolt/index.ts';
import { writeBundle } from '../bundle/index.ts';
import { ExportErrors } from '../errors.ts';
import {
  TRIVY_DB_ARTIFACT_TYPE,
  TRIVY_DB_LAYER_MEDIA_TYPE,
  TRIVY_DB_LAYER_TITLE,
  TRIVY_SCHEMA_VERSION,
} from '../oci/trivy.ts';
import type { ExportProfile } from '../profiles/schema.ts';
import { type TrivyBuildStats, TrivyDbBuilder } from '../trivy/index.ts';
import type { AdapterInput, AdapterOutput, ExportAdapter, Selection, SerialiseContext, StagedFile } from './adapter.ts';
import { refuseUnsupported } from './json-raw.ts';
import { materialLine, type PayloadWriter, payloadWriter } from './payload.ts';

export const DB_BUNDLE_PATH = 'trivy/db.bundle';
export const DB_SIGNATURE_PATH = 'signatures/trivy-db.sig';
export const REPORT_PATH = 'trivy/report.json';
/** The log key the runbook's failure table names for a schema this build cannot write. */
export const UNSUPPORTED_SCHEMA_LOG_KEY = 'adapter.trivy.unsupported_schema_version';
// Trivy skips re-downloading while now < NextUpdate; a day after the data is what trivy-db publishes.
const NEXT_UPDATE_MS = 24 * 60 * 60 * 1000;
// The level trivy-db's `tar czf` uses; Trivy reads any.
const GZIP_LEVEL = 6;

const FAMILIES: readonly string[] = ['advisories'];

/** The schema the profile pins (spec.schemaVersion, default 2); anything but 2 fails the run. */
function schemaVersionOf(profile: ExportProfile): number {
  const pinned = profile.spec.schemaVersion ?? TRIVY_SCHEMA_VERSION;
  if (pinned !== TRIVY_SCHEMA_VERSION) {
    throw new StellaError(
      ExportErrors.unsupportedSchema,
      `${UNSUPPORTED_SCHEMA_LOG_KEY}: this build writes Trivy DB schema ${TRIVY_SCHEMA_VERSION} (read by Trivy 0.50 and later), not ${pinned}; set spec.schemaVersion to ${TRIVY_SCHEMA_VERSION} in a new profile revision and rerun`,
      { details: { logKey: UNSUPPORTED_SCHEMA_LOG_KEY, schemaVersion: pinned } },
    );
  }
  return pinned;
}

async function select(input: AdapterInput): Promise<Selection> {
  schemaVersionOf(input.profile);
  const total = await countRawForExport(input.db, input.tenant, 'advisory_raw', input.selectors);
  return { total, families: FAMILIES };
}

/** Feeds every selected head advisory to the builder, writing each one's materials line. */
async function project(
  context: SerialiseContext,
  writer: PayloadWriter,
): Promise<{ builder: TrivyDbBuilder; newest: number }> {
  const builder = new TrivyDbBuilder();
  let newest = 0;
  for await (const page of streamRawForExport(
    context.db,
    context.tenant,
    'advisory_raw',
    context.selectors,
    context.pageSize,
  )) {
    let lines = '';
    for (const record of page) {
      const { envelope } = record;
      builder.add({
        recordId: envelope.id,
        format: envelope.content.format,
        vendor: envelope.source.vendor,
        upstreamId: envelope.upstream.upstream_id,
        withdrawn: upstreamWithdrawn(record.raw, envelope.content.format),
        raw: record.raw,
      });
      lines += materialLine(
        envelope.id,
        `stella://advisory_raw/${encodeURIComponent(envelope.id)}`,
        envelope.upstream.content_hash,
      );
      writer.seen(record.retrievedAt);
      newest = Math.max(newest, Date.parse(record.retrievedAt));
    }
    await writer.material(lines, page.length);
    await writer.report(page.length);
  }
  return { builder, newest };
}

/** A time as Go's encoding/json writes a time.Time in whole seconds (RFC 3339, no fraction). */
const goTime = (d: Date) => d.toISOString().replace('.000Z', 'Z');

/** metadata.json as Go's json.Encoder writes trivy-db's Metadata: fields in order, a trailing newline. */
export function trivyMetadata(schemaVersion: number, updatedAt: Date): string {
  const time = goTime;
  return `${JSON.stringify({
    Version: schemaVersion,
    NextUpdate: time(new Date(updatedAt.getTime() + NEXT_UPDATE_MS)),
    UpdatedAt: time(updatedAt),
    DownloadedAt: '0001-01-01T00:00:00Z',
  })}\n`;
}

/** trivy.db and metadata.json into db.bundle, the gzip tar Trivy extracts into <cache-dir>/db. */
async function stageDbBundle(
  context: SerialiseContext,
  builder: TrivyDbBuilder,
  schemaVersion: number,
  updatedAt: Date,
  records: number,
): Promise<StagedFile> {
  const dbFile = join(context.stagingDir, 'trivy.db');
  await writeBolt(await builder.treeAsync(), dbFile);
  const metadata = Buffer.from(trivyMetadata(schemaVersion, updatedAt), 'utf8');
  const file = join(context.stagingDir, 'trivy_db.bundle');
  const out = createWriteStream(file);
  const written = await writeBundle(
    [
      { path: 'metadata.json', size: metadata.length, source: metadata },
      { path: 'trivy.db', size: (await stat(dbFile)).size, source: dbFile },
    ],
    { mtime: updatedAt, compression: { codec: 'gzip', level: GZIP_LEVEL } },
    out,
  );
  if (!out.writableFinished) await once(out, 'finish');
  await rm(dbFile);
  return {
    path: DB_BUNDLE_PATH,
    file,
    size: written.bytes,
    digest: written.digest,
    records,
    contentType: TRIVY_DB_LAYER_MEDIA_TYPE,
  };
}

/** report.json: what the database holds and, record by record, what was left out and why. */
async function stageReport(writer: PayloadWriter, stats: TrivyBuildStats, schemaVersion: number): Promise<StagedFile> {
  const byReason: Record<string, number> = {};
  for (const skip of stats.skipped) byReason[skip.reason] = (byReason[skip.reason] ?? 0) + 1;
  const out = writer.stage(REPORT_PATH);
  const { skipped, ...counts } = stats;
  await out.write(`${canonicalJson({ schemaVersion, ...counts, skippedByReason: byReason, skipped })}\n`);
  return out.close(skipped.length, 'application/json');
}

async function serialise(context: SerialiseContext, selection: Selection): Promise<AdapterOutput> {
  const schemaVersion = schemaVersionOf(context.profile);
  const writer = payloadWriter(context, selection);
  const { builder, newest } = await project(context, writer);
  const stats = builder.stats();
  const updatedAt = context.fixedTime ?? new Date(newest);
  updatedAt.setUTCMilliseconds(0);
  const db = await stageDbBundle(context, builder, schemaVersion, updatedAt, stats.advisories);
  const report = await stageReport(writer, stats, schemaVersion);
  const output = await writer.finish([db, report]);
  return {
    ...output,
    detachedSignatures: [{ path: DB_SIGNATURE_PATH, of: DB_BUNDLE_PATH }],
    ociArtifact: {
      artifactType: TRIVY_DB_ARTIFACT_TYPE,
      layers: [{ of: DB_BUNDLE_PATH, mediaType: TRIVY_DB_LAYER_MEDIA_TYPE, title: TRIVY_DB_LAYER_TITLE }],
      tags: [String(schemaVersion)],
      // metadata.json's UpdatedAt: `stella export trivy-oci` rebuilds the same manifest from the bundle alone.
      created: goTime(updatedAt),
    },
  };
}

export const trivyDbAdapter: ExportAdapter = {
  kind: 'trivy',
  variant: 'db',
  payloadPrefix: 'trivy/',
  refuse: (profile) => refuseUnsupported(profile, 'trivy:db', FAMILIES),
  select,
  serialise,
};
