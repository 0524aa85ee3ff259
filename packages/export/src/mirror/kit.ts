// SPDX-License-Identifier: Apache-2.0
// The Offline Kit's plan and its README (spec §6 "Offline Kit", seed 004 §5): which stored runs a
// disconnected site needs, in the order it must apply them, and the steps to do so. Pure: the command
// (commands/kit.ts) fetches the runs and files; this decides and writes text.

/** What the kit reads of a run (the fields of GET /api/export/runs). */
export interface KitRun {
  runId: string;
  profileKind: string;
  exportId: string | null;
  baseExportId: string | null;
  completedAt: string | null;
  bundle: { fileName: string; digest: string; bytes: number; mediaType: string } | null;
}

export interface KitPlan {
  full: KitRun | undefined;
  /** Deltas in the order to apply them: each one's base is the previous one's export (the first's is the full). */
  deltas: KitRun[];
  trivy: KitRun | undefined;
}

const newestFirst = (a: KitRun, b: KitRun) => (b.completedAt ?? '').localeCompare(a.completedAt ?? '');

/**
 * The newest mirror:full, then the chain of deltas on it: from each export, the newest delta built on
 * it (it carries everything since its base, so an older sibling adds nothing), until none is. Replays
 * share an export id, so a chain never loops. The newest trivy:db beside it.
 */
export function planKit(succeeded: readonly KitRun[]): KitPlan {
  const runs = succeeded.filter((r) => r.exportId !== null && r.bundle !== null).sort(newestFirst);
  const full = runs.find((r) => r.profileKind === 'mirror:full');
  const deltas: KitRun[] = [];
  const seen = new Set<string>();
  let tip = full?.exportId ?? null;
  while (tip !== null && !seen.has(tip)) {
    seen.add(tip);
    const next = runs.find((r) => r.profileKind === 'mirror:delta' && r.baseExportId === tip);
    if (!next) break;
    deltas.push(next);
    tip = next.exportId;
  }
  return { full, deltas, trivy: runs.find((r) => r.profileKind === 'trivy:db') };
}

/** One file of the kit, as kit.json and checksums.txt list it. */
export interface KitFile {
  path: string;
  sha256: string;
  bytes: number;
}

export interface KitReadmeInput {
  tenant: string;
  server: string;
  builtAt: string;
  /** Kit paths of the mirror bundles in apply order. */
  mirror: { path: string; exportId: string; kind: string; encrypted: boolean }[];
  trivy: string | undefined;
  tufRoot: string | undefined;
  signalsKeys: string[];
  aocReport: { path: string; violations: number; truncated: boolean } | undefined;
  sql: string[];
  /** Read-only AOC verifier credentials minted for a tenant of the disconnected site, when asked. */
  verifier?: { clientId: string; tenant: string; credentials: string; config: string } | undefined;
}

export function kitReadme(input: KitReadmeInput): string {
  const encrypted = input.mirror.filter((m) => m.encrypted);
  // What is imported: an encrypted bundle's decrypted copy under plain/, the bundle itself otherwise.
  const usable = (m: KitReadmeInput['mirror'][number]) =>
    m.encrypted
      ? `plain/${m.path
          .split('/')
          .at(-1)!
          .replace(/\.age$/, '')}`
      : m.path;
  const tuf = input.tufRoot ? ` --tuf-root ${input.tufRoot}` : '';
  const imports = input.mirror
    .map((m) => `stella offline import --bundle ${usable(m)} --trust-root trust/export-center.pub${tuf}`)
    .join('\n');
  const lines = [
    '# stella Offline Kit',
    '',
    `Built ${input.builtAt} from ${input.server} for tenant \`${input.tenant}\` by \`stella offline kit build\`.`,
    'Everything here was verified by digest while it was downloaded; verify it again on the far side before',
    'trusting it. Nothing below needs the network.',
    '',
    '## Contents',
    '',
    '| path | what |',
    '|---|---|',
    ...input.mirror.map(
      (m, i) =>
        `| \`${m.path}\` | ${m.kind} export \`${m.exportId}\`${i === 0 ? '' : ', apply after the one above'}${m.encrypted ? ' (encrypted)' : ''} |`,
    ),
    ...(input.trivy ? [`| \`${input.trivy}\` | trivy:db bundle (docs/trivy.md) |`] : []),
    '| `trust/export-center.pub` | the export-center public key every bundle is signed with (`--trust-root`) |',
    ...(input.tufRoot ? [`| \`${input.tufRoot}\` | the TUF root of the mirror chain (\`--tuf-root\`) |`] : []),
    ...input.signalsKeys.map((k) => `| \`${k}\` | a Signals public key (put it in signals.trustRootsPath) |`),
    ...(input.aocReport
      ? [
          `| \`${input.aocReport.path}\` | \`stella aoc verify\` on the connected side: ${input.aocReport.violations} violation(s)${input.aocReport.truncated ? ', truncated' : ''} |`,
        ]
      : []),
    ...input.sql.map((s) => `| \`${s}\` | ops SQL (docs/runbooks/aoc.md) |`),
    ...(input.verifier
      ? [
          `| \`${input.verifier.credentials}\` | SECRET: the read-only verifier \`${input.verifier.clientId}\` for tenant \`${input.verifier.tenant}\` |`,
          `| \`${input.verifier.config}\` | its hashed secret, as an \`auth.clients\` entry for the site's config |`,
        ]
      : []),
    '| `kit.json`, `checksums.txt` | what the kit holds, with sha256 and size |',
    '',
    '## Restore (runbook docs/runbooks/export.md §7.2)',
    '',
    '1. Check every file against the list: `sha256sum -c checksums.txt`.',
    ...(encrypted.length > 0
      ? [
          '2. Decrypt the encrypted bundles with your age identity (docs/encryption.md); signatures cover the plaintext:',
          '',
          '```sh',
          'mkdir -p plain',
          ...encrypted.map((m) => `stella export decrypt ${m.path} --identity key.txt --output ${usable(m)}`),
          '```',
          '',
        ]
      : ['2. (The bundles are not encrypted: nothing to decrypt.)']),
    '3. On the disconnected stella (server stopped on an embedded home), import the full bundle, then each',
    '   delta in order. Each import verifies the signatures, the TUF metadata and the time anchor first,',
    '   refuses a bundle out of order, and quarantines one that fails:',
    '',
    '```sh',
    imports || '# (no mirror bundle: build a mirror:full profile run on the connected side first)',
    'stella offline status',
    ...input.mirror.map((m) => `stella mirror verify ${usable(m)} --key trust/export-center.pub${tuf}`),
    '```',
    '',
    ...(input.verifier
      ? [
          '4. Verify the imported records as the read-only verifier (seed 004 §3): merge',
          `   \`${input.verifier.config}\` into the site's stella.yaml and restart \`stella serve\`, then:`,
          '',
          '```sh',
          `export STELLA_CLIENT_ID=${input.verifier.clientId}`,
          `export STELLA_CLIENT_SECRET="$(jq -r '.clients["stella-aoc-verify"].clientSecret' ${input.verifier.credentials})"`,
          `stella aoc verify --since 30d --tenant ${input.verifier.tenant}`,
          '```',
          '',
          '   The secret is new in every kit: replace the entry when you install a newer kit. Keep the file',
          '   out of tickets and backups; it is readable by its owner only.',
          '',
        ]
      : []),
    'A delta whose base is missing is refused with `ERR_EXPORT_BASE_MISSING`: import the full bundle first,',
    'or build a new kit. `stella offline status` lists the applied exports with their time anchors and staleness.',
    '',
  ];
  return `${lines.join('\n')}\n`;
}

/** checksums.txt in the format `sha256sum -c` reads. */
export function kitChecksums(files: readonly KitFile[]): string {
  return files.map((f) => `${f.sha256}  ${f.path}\n`).join('');
}
