// SPDX-License-Identifier: Apache-2.0
// `stella export verify <file|dir>`: offline verification of a downloaded or extracted bundle.
// It never contacts the server, so it works on the far side of an air gap; exit 0 valid, 3 invalid.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Errors } from '@stella/core';
import { type CliCtx, CliError, log, printResult } from '@stella/platform';
import { type Command, Option } from 'commander';
import { ExportErrors } from '../errors.ts';
import { decryptBundle } from './decrypt.ts';
import { type VerifyCheck, type VerifyReport, verifyBundle } from './verify.ts';

interface VerifyFlags {
  key?: string;
  format?: 'table' | 'json';
}

/** One line per check, as `stella export verify` and `stella mirror verify` print them. */
export function checkLines(checks: readonly VerifyCheck[]): string[] {
  return checks.map((c) => {
    const status = !c.ok ? 'FAIL' : c.reason ? 'note' : 'ok';
    return `${status.padEnd(4)}  ${c.file}  ${c.check}${c.reason ? `: ${c.reason}` : ''}`;
  });
}

function table(report: VerifyReport): string {
  const lines = checkLines(report.checks);
  if (report.ok)
    lines.push(
      `bundle verified: export ${report.exportId ?? '(no exportId)'}, key ${report.keyid} (${report.trustedKey})`,
    );
  return lines.join('\n');
}

/** The PEM of --key, or undefined without the flag; an unreadable file is ERR_EXPORT_VERIFY_KEY. */
export async function readKeyFlag(path: string | undefined): Promise<string | undefined> {
  if (!path) return undefined;
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new CliError(ExportErrors.verifyKey, `--key ${path}: cannot be read: ${(error as Error).message}`);
  }
}

export function registerVerifyCommand(exportCommand: Command, cli: CliCtx): Command {
  const { io, globals } = cli;
  return exportCommand
    .command('verify')
    .description(
      'Verify an export bundle offline: checksums, manifest digests, provenance, DSSE envelopes and export.sig (exit 0 valid, 3 invalid)',
    )
    .argument('<bundle>', 'bundle file (.tar.zst, .tar.gz or .tar) or an extracted bundle directory')
    .addOption(
      new Option(
        '--key <pub.pem>',
        'trust this PEM public key instead of the bundled signatures/export-center.pub (env STELLA_EXPORT_VERIFY_KEY)',
      ).default(io.env.STELLA_EXPORT_VERIFY_KEY),
    )
    .addOption(
      new Option('--format <format>', 'table | json (default table; --json implies json)').choices(['table', 'json']),
    )
    .action(async (target: string, flags: VerifyFlags) => {
      const opts = globals();
      const json = opts.json || flags.format === 'json';
      if (!existsSync(target)) throw new CliError(Errors.fileNotFound, `${target}: no such file or directory`);
      const publicKeyPem = await readKeyFlag(flags.key);
      const report = await verifyBundle(target, publicKeyPem === undefined ? {} : { publicKeyPem });
      printResult(io, { ...opts, json }, report, () => table(report));
      if (report.ok && report.trustedKey === 'bundled')
        log(
          io,
          opts,
          `note: trusted the key shipped inside the bundle (${report.keyid}); this proves integrity, not origin. Pass --key with the publisher's key to pin it.`,
        );
      const failed = report.checks.find((c) => !c.ok);
      if (failed) {
        throw new CliError(
          ExportErrors.verify,
          `verification failed: ${failed.file}: ${failed.reason ?? `${failed.check} failed`}`,
        );
      }
    });
}

/** Where `stella export decrypt` writes by default: `x.tar.zst.age` → `x.tar.zst`; `x.tar.zst` → `x-decrypted.tar.zst`. */
function defaultDecryptOutput(input: string): string {
  const base = input.replace(/[/\\]+$/, '');
  if (base.endsWith('.age')) return base.slice(0, -'.age'.length);
  const match = /^(.*?)(\.tar(?:\.zst|\.gz)?)$/.exec(base);
  return match ? `${match[1]}-decrypted${match[2]}` : `${base}-decrypted.tar.zst`;
}

export function registerDecryptCommand(exportCommand: Command, cli: CliCtx): Command {
  const { io, globals } = cli;
  return exportCommand
    .command('decrypt')
    .description(
      'Decrypt an encrypted export bundle offline with an age identity: a whole-bundle age file (mode age) or a bundle with encrypted data files (mode aes-gcm) becomes the plaintext bundle its signatures cover; verify that afterwards',
    )
    .argument('<bundle>', 'encrypted bundle file (.age, or .tar.zst with encrypted data/) or an extracted directory')
    .requiredOption('-i, --identity <key.txt>', 'age identity file as age-keygen writes it (AGE-SECRET-KEY-1… lines)')
    .option(
      '-o, --output <file>',
      'plaintext bundle to write (default: the input without .age, else <name>-decrypted.tar.zst); written only when every file decrypted',
    )
    .action(async (target: string, flags: { identity: string; output?: string }) => {
      const opts = globals();
      if (!existsSync(target)) throw new CliError(Errors.fileNotFound, `${target}: no such file or directory`);
      let identities: string;
      try {
        identities = await readFile(flags.identity, 'utf8');
      } catch (error) {
        throw new CliError(
          ExportErrors.decryptIdentity,
          `--identity ${flags.identity}: cannot be read: ${(error as Error).message}`,
        );
      }
      const output = flags.output ?? defaultDecryptOutput(target);
      if (existsSync(output)) {
        throw new CliError(Errors.usage, `${output} already exists; remove it or pass --output`);
      }
      const result = await decryptBundle(target, identities, output);
      printResult(
        io,
        opts,
        result,
        () =>
          `decrypted ${target} (${result.mode === 'age' ? 'whole-bundle age' : `${result.files} data file(s), aes-gcm`}) → ${output}\n${result.digest}  ${result.bytes} bytes\nnext: stella export verify ${output}`,
      );
    });
}
