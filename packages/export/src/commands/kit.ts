// SPDX-License-Identifier: Apache-2.0
// `stella offline kit build --output <dir>` (spec §6 "Offline Kit", seed 004 §5): everything a
// disconnected site needs, gathered from one connected stella over its API: the newest mirror:full
// with its chain of deltas, the newest trivy:db bundle, the trust roots (export-center key, Signals
// keys, the chain's TUF root), a `stella aoc verify` report made now, the ops SQL scripts, and a README
// with the restore steps. Each bundle is checked against its announced digest while it downloads; the
// kit is assembled in a sibling directory and renamed into place only when complete.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { hashSecret } from '@stella/authority';
import { Errors, isTenantId } from '@stella/core';
import {
  type ApiClient,
  type CliCtx,
  CliError,
  createApiClient,
  printResult,
  verifierClientId,
} from '@stella/platform';
import type { Command } from 'commander';
import { encryptionRecordOf, hashFileStreaming, isAgeFile, readArchiveMembers } from '../bundle/index.ts';
import { ExportErrors } from '../errors.ts';
import { type KitFile, type KitReadmeInput, type KitRun, kitChecksums, kitReadme, planKit } from '../mirror/kit.ts';
import { downloadRunBundle } from './bundles.ts';
import { progressBar } from './watch.ts';

/** The repository's ops SQL scripts (docs/runbooks/aoc.md), shipped as they are. */
/** The ops scripts at seed 004's paths (ops/sql is the same directory under its older name). */
const OPS_SCRIPTS = new URL('../../../../ops/devops/scripts/', import.meta.url);
/** Runs listed per page, and pages read at most (retention keeps far fewer succeeded runs). */
const PAGE = 200;
const MAX_PAGES = 100;

interface KitFlags {
  output: string;
  aocSince: string;
  verifierTenant?: string;
}

/** The read-only verifier's scopes (seed 004 §3), as the bootstrap gives `stella-aoc-verify`. */
const VERIFIER_SCOPES = ['aoc:verify', 'advisory:read', 'vex:read'];

export function registerKitCommand(offline: Command, cli: CliCtx): void {
  offline
    .command('kit')
    .description('The Offline Kit: what a disconnected site imports (runbook: docs/runbooks/export.md §7.2)')
    .command('build')
    .description(
      "Assemble an Offline Kit from this (connected) stella: the newest mirror:full and its deltas in order, the newest trivy:db bundle, the tenant's trust roots, an AOC verify report, the ops SQL scripts and a README with the restore steps",
    )
    .requiredOption('--output <dir>', 'directory to create (must not exist); appears only once the kit is complete')
    .option(
      '--aoc-since <time|duration>',
      'window of the bundled `stella aoc verify` report: an RFC 3339 time or a duration back from now (default: every stored record)',
      '1970-01-01T00:00:00Z',
    )
    .option(
      '--verifier-tenant <tenant>',
      "also mint read-only AOC verifier credentials for this tenant of the disconnected site (seed 004 §5): client stella-aoc-verify-<tenant>, a fresh secret on every kit, its hash as an auth.clients entry for the site's config",
    )
    .action((flags: KitFlags) => buildKit(flags, cli));
}

async function buildKit(flags: KitFlags, cli: CliCtx): Promise<void> {
  const { io, globals } = cli;
  const opts = globals();
  const output = resolve(flags.output);
  if (flags.verifierTenant !== undefined && !isTenantId(flags.verifierTenant)) {
    throw new CliError(Errors.usage, `--verifier-tenant ${flags.verifierTenant}: not a tenant id`);
  }
  if (existsSync(output)) throw new CliError(Errors.usage, `${flags.output} already exists; choose a new --output`);
  const client = createApiClient(io, opts);
  const plan = planKit(await succeededRuns(client));
  if (!plan.full) {
    throw new CliError(
      ExportErrors.baseMissing,
      `tenant ${opts.tenant} has no stored mirror:full export; run one (stella export run submit --profile <mirror:full profile> --watch), then build the kit`,
    );
  }
  const staging = join(dirname(output), `.${basename(output)}.${randomBytes(6).toString('hex')}.partial`);
  await mkdir(staging);
  try {
    const bar = progressBar(io, opts.quiet || opts.json);
    const download = async (run: KitRun, path: string) => {
      await mkdir(dirname(join(staging, path)), { recursive: true });
      await downloadRunBundle(client, run.runId, join(staging, path), (received, size) =>
        bar.draw(basename(path), received / size, `${received}/${size} bytes`),
      );
      bar.end();
      return path;
    };
    // Numbered so that `ls mirror/` lists them in the order they must be applied.
    const chain = [plan.full, ...plan.deltas];
    const mirror: KitReadmeInput['mirror'] = [];
    for (const [i, run] of chain.entries()) {
      const path = await download(run, `mirror/${String(i + 1).padStart(2, '0')}-${run.bundle!.fileName}`);
      mirror.push({
        path,
        exportId: run.exportId!,
        kind: run.profileKind,
        encrypted: await isEncrypted(join(staging, path)),
      });
    }
    const trivy = plan.trivy ? await download(plan.trivy, `trivy/${plan.trivy.bundle!.fileName}`) : undefined;

    await mkdir(join(staging, 'trust'));
    await writeFile(join(staging, 'trust/export-center.pub'), await activeExportKey(client));
    const tufRoot = await chainTufRoot(join(staging, mirror[0]!.path));
    if (tufRoot) await writeFile(join(staging, 'trust/tuf-root.json'), tufRoot);
    const signalsKeys = await writeSignalsKeys(client, staging);

    await mkdir(join(staging, 'reports'));
    const aoc = await aocReport(verifierClient(cli, opts), flags.aocSince);
    await writeFile(join(staging, 'reports/aoc-verify.json'), `${JSON.stringify(aoc, null, 2)}\n`);

    const verifier = flags.verifierTenant ? await writeVerifierCredentials(staging, flags.verifierTenant) : undefined;

    await mkdir(join(staging, 'ops/devops/scripts'), { recursive: true });
    const sql: string[] = [];
    for (const name of (await readdir(OPS_SCRIPTS)).filter((n) => n.endsWith('.sql') || n.endsWith('.sh')).sort()) {
      await copyFile(new URL(name, OPS_SCRIPTS), join(staging, 'ops/devops/scripts', name));
      sql.push(`ops/devops/scripts/${name}`);
    }

    const builtAt = new Date().toISOString();
    await writeFile(
      join(staging, 'README.md'),
      kitReadme({
        tenant: opts.tenant,
        server: opts.server,
        builtAt,
        mirror,
        trivy,
        tufRoot: tufRoot ? 'trust/tuf-root.json' : undefined,
        signalsKeys,
        aocReport: {
          path: 'reports/aoc-verify.json',
          violations: aoc.violations.length,
          truncated: aoc.truncated === true,
        },
        sql,
        verifier,
      }),
    );
    const manifest = {
      schema: 'stella-offline-kit/v1',
      tenant: opts.tenant,
      server: opts.server,
      builtAt,
      mirror: chain.map((run, i) => ({ ...mirror[i], runId: run.runId, digest: run.bundle!.digest })),
      ...(plan.trivy ? { trivy: { path: trivy, runId: plan.trivy.runId, exportId: plan.trivy.exportId } } : {}),
      files: [] as KitFile[],
    };
    manifest.files = await listKitFiles(staging);
    await writeFile(join(staging, 'kit.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    await writeFile(join(staging, 'checksums.txt'), kitChecksums(await listKitFiles(staging)));
    await rename(staging, output);
    printResult(
      io,
      opts,
      { output, mirror: manifest.mirror, trivy: manifest.trivy ?? null, files: manifest.files.length },
      () =>
        [
          `offline kit ${flags.output}: ${chain.length} mirror bundle(s) (full ${plan.full!.exportId}${plan.deltas.length ? ` + ${plan.deltas.length} delta(s)` : ''})${trivy ? ', trivy:db' : ''}, ${manifest.files.length} files`,
          `next: carry it over, then follow ${join(flags.output, 'README.md')} (sha256sum -c checksums.txt first)`,
        ].join('\n'),
    );
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

// The AOC report is asked as the read-only verifier (seed 004 §3) when its credentials are stored,
// like `stella aoc verify`; the other calls use the operator's own client.
function verifierClient(cli: CliCtx, opts: ReturnType<CliCtx['globals']>): ApiClient {
  return createApiClient(cli.io, opts, { credentialsClient: verifierClientId(cli.loadConfig) });
}

async function succeededRuns(client: ApiClient): Promise<KitRun[]> {
  const runs: KitRun[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const query: string = `status=succeeded&limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const result = await client.json<{ items: KitRun[]; nextCursor: string | null }>(
      'GET',
      `/api/export/runs?${query}`,
    );
    runs.push(...result.items);
    cursor = result.nextCursor;
    if (!cursor) break;
  }
  return runs;
}

async function activeExportKey(client: ApiClient): Promise<string> {
  const { keys } = await client.json<{ keys: { status: string; publicKeyPem: string }[] }>('GET', '/api/export/keys');
  const active = keys.find((k) => k.status === 'active');
  if (!active) throw new CliError(ExportErrors.signing, 'the tenant has no active export-center key');
  return active.publicKeyPem;
}

/** Each Signals public key as trust/signals/<keyid>.pem (signals.trustRootsPath on the far side). */
async function writeSignalsKeys(client: ApiClient, staging: string): Promise<string[]> {
  const { keys } = await client.json<{ keys: { keyid: string; publicKeyPem: string }[] }>('GET', '/signals/keys');
  const paths: string[] = [];
  for (const key of [...keys].sort((a, b) => a.keyid.localeCompare(b.keyid))) {
    const path = `trust/signals/${key.keyid.replace(/[^A-Za-z0-9._-]/g, '_')}.pem`;
    await mkdir(join(staging, 'trust/signals'), { recursive: true });
    await writeFile(join(staging, path), key.publicKeyPem);
    paths.push(path);
  }
  return paths;
}

/** The full bundle's tuf/root.json: the root the chain's deltas are signed under. None from an age file. */
async function chainTufRoot(fullBundle: string): Promise<Buffer | undefined> {
  if (await isAgeFile(fullBundle)) return undefined;
  return (await readArchiveMembers(fullBundle, (name) => name === 'tuf/root.json')).get('tuf/root.json');
}

async function isEncrypted(bundle: string): Promise<boolean> {
  if (await isAgeFile(bundle)) return true;
  const provenance = (await readArchiveMembers(bundle, (name) => name === 'provenance.json')).get('provenance.json');
  return provenance !== undefined && encryptionRecordOf(JSON.parse(provenance.toString('utf8'))) !== undefined;
}

interface AocReport {
  violations: unknown[];
  truncated?: boolean;
}

async function aocReport(client: ApiClient, since: string): Promise<AocReport> {
  return client.json<AocReport>('POST', '/aoc/verify', {
    scope: 'aoc:verify advisory:read vex:read',
    headers: { 'x-stella-initiator': 'cli' },
    body: { since },
  });
}

/**
 * Read-only verifier credentials for a tenant of the disconnected site, minted here and never stored
 * on this side: the secret goes only into the kit (credentials.json, as `stella aoc verify` reads it
 * from $STELLA_HOME), its scrypt hash into an auth.clients entry for the site's config. A new kit
 * mints a new secret, so refreshing the kit rotates it (seed 004 §5).
 */
async function writeVerifierCredentials(staging: string, tenant: string): Promise<KitReadmeInput['verifier']> {
  const clientId = `stella-aoc-verify-${tenant}`;
  const clientSecret = randomBytes(32).toString('base64url');
  const secretHash = await hashSecret(clientSecret);
  await mkdir(join(staging, 'credentials'), { mode: 0o700 });
  const credentials = {
    clients: { 'stella-aoc-verify': { clientId, clientSecret, tenants: [tenant], scopes: VERIFIER_SCOPES } },
  };
  await writeFile(join(staging, 'credentials/credentials.json'), `${JSON.stringify(credentials, null, 2)}\n`, {
    mode: 0o600,
  });
  const yaml = [
    "# Add to the disconnected stella's config (stella.yaml) and restart it; replace the entry on every kit.",
    'auth:',
    '  clients:',
    `    - clientId: ${clientId}`,
    `      secretHash: "${secretHash}"`,
    `      tenants: [${tenant}]`,
    `      scopes: [${VERIFIER_SCOPES.join(', ')}]`,
    '',
  ].join('\n');
  await writeFile(join(staging, 'credentials/auth-clients.yaml'), yaml, { mode: 0o600 });
  return { clientId, tenant, credentials: 'credentials/credentials.json', config: 'credentials/auth-clients.yaml' };
}

async function listKitFiles(root: string): Promise<KitFile[]> {
  const files: KitFile[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const entry of (await readdir(join(root, rel), { withFileTypes: true })).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    )) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(path);
      else if (path !== 'checksums.txt') {
        const { hex, bytes } = await hashFileStreaming(join(root, path));
        files.push({ path, sha256: hex, bytes });
      }
    }
  };
  await walk('');
  return files;
}
