// SPDX-License-Identifier: Apache-2.0
// `stella export trivy-oci <bundle> --output <dir>`: for a site without the `oci` distribution, the
// Trivy DB of a downloaded trivy:db bundle as an OCI image layout (tag `2`), which
// `skopeo copy oci:<dir>:2 docker://<registry>/<repo>:2` puts into an internal registry for
// `trivy --db-repository`. The bundle is verified first (offline, as `stella export verify`), and the
// manifest is built from the bundle alone, so it is byte for byte the one the `oci` driver pushes.
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Errors } from '@stella/core';
import { type CliCtx, CliError, printResult } from '@stella/platform';
import { type Command, Option } from 'commander';
import { ExportErrors } from '../errors.ts';
import { writeOciLayout } from '../oci/layout.ts';
import { TRIVY_SCHEMA_VERSION, trivyDbManifest } from '../oci/trivy.ts';
import { hashFileStreaming } from './bundle-reader.ts';
import { readKeyFlag } from './command.ts';
import { openBundle } from './extract.ts';
import { verifyBundle } from './verify.ts';

const DB_BUNDLE = 'trivy/db.bundle';

interface TrivyOciFlags {
  output: string;
  key?: string;
}

/** What the layout holds, once written. */
export interface TrivyLayout {
  layout: string;
  tag: string;
  manifestDigest: string;
  layer: { digest: string; size: number };
}

/** Writes the OCI layout of the bundle's trivy/db.bundle into `output`; the bundle must verify. */
export async function trivyOciLayout(bundle: string, output: string, publicKeyPem?: string): Promise<TrivyLayout> {
  const report = await verifyBundle(bundle, publicKeyPem === undefined ? {} : { publicKeyPem });
  const failed = report.checks.find((c) => !c.ok);
  if (failed) {
    throw untrusted(
      `${bundle} does not verify (${failed.file}: ${failed.reason ?? failed.check}); run stella export verify for every check`,
    );
  }
  const opened = await openBundle(bundle);
  try {
    const dbBundle = join(opened.dir, ...DB_BUNDLE.split('/'));
    if (!existsSync(dbBundle)) throw untrusted(`${bundle} holds no ${DB_BUNDLE}: it is not a trivy:db bundle`);
    const { hex, bytes } = await hashFileStreaming(dbBundle);
    const layer = { digest: `sha256:${hex}`, size: bytes };
    const manifest = trivyDbManifest(layer, await updatedAt(dbBundle));
    const tag = String(TRIVY_SCHEMA_VERSION);
    await writeOciLayout(output, { manifest, blobs: [{ ...layer, source: dbBundle }], tag });
    return { layout: output, tag, manifestDigest: manifest.digest, layer };
  } finally {
    await opened.cleanup();
  }
}

/** A verify-class failure (ERR_EXPORT_009, exit 3): a bundle this command cannot trust or use. */
const untrusted = (message: string) => new CliError(ExportErrors.verify, message);

/** metadata.json's UpdatedAt inside db.bundle: the created annotation the pushed manifest carries. */
async function updatedAt(dbBundle: string): Promise<string> {
  const inner = await openBundle(dbBundle, { maxEntries: 2 });
  try {
    const names = await readdir(inner.dir);
    if (!names.includes('metadata.json')) throw untrusted(`${DB_BUNDLE} holds no metadata.json`);
    const metadata = JSON.parse(await readFile(join(inner.dir, 'metadata.json'), 'utf8')) as { UpdatedAt?: unknown };
    if (typeof metadata.UpdatedAt !== 'string') throw untrusted(`${DB_BUNDLE}: metadata.json has no UpdatedAt`);
    return metadata.UpdatedAt;
  } finally {
    await inner.cleanup();
  }
}

export function registerTrivyOciCommand(exportCommand: Command, cli: CliCtx): Command {
  const { io, globals } = cli;
  return exportCommand
    .command('trivy-oci')
    .description(
      "Write a trivy:db bundle's database as an OCI image layout (tag 2) for skopeo copy into a registry Trivy pulls from with --db-repository; the bundle is verified first",
    )
    .argument('<bundle>', 'trivy:db bundle file (.tar.zst, .tar.gz or .tar) or an extracted bundle directory')
    .requiredOption('--output <dir>', 'directory for the OCI image layout (created when missing)')
    .addOption(
      new Option('--key <pub.pem>', 'trust this PEM public key when verifying (env STELLA_EXPORT_VERIFY_KEY)').default(
        io.env.STELLA_EXPORT_VERIFY_KEY,
      ),
    )
    .action(async (bundle: string, flags: TrivyOciFlags) => {
      if (!existsSync(bundle)) throw new CliError(Errors.fileNotFound, `${bundle}: no such file or directory`);
      const publicKeyPem = await readKeyFlag(flags.key);
      const layout = await trivyOciLayout(bundle, flags.output, publicKeyPem);
      printResult(io, globals(), layout, () =>
        [
          `wrote ${layout.layout} (tag ${layout.tag}, manifest ${layout.manifestDigest})`,
          `next: skopeo copy oci:${layout.layout}:${layout.tag} docker://<registry>/<repository>:${layout.tag}`,
          `then: trivy image --db-repository <registry>/<repository> …`,
        ].join('\n'),
      );
    });
}
