// Checks the programs `npm test` and the README walkthrough need (the list is in
// packages/testkit/src/prerequisites.ts). Missing ones are installed with apt-get when this runs as
// root; otherwise it stops at once naming the exact install line, so no test ever waits on a tool.
//   node scripts/prerequisites.ts            check, install as root
//   node scripts/prerequisites.ts --check    check only, never install
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { debianPackages, installLine, missingPrerequisites } from '@stella/testkit';

const { values } = parseArgs({ options: { check: { type: 'boolean', default: false } } });

const missing = missingPrerequisites();
if (missing.length === 0) process.exit(0);

const names = missing.map((p) => p.command);
const line = installLine(names);
const describe = missing.map((p) => `  ${p.command.padEnd(16)} ${p.debianPackage.padEnd(16)} ${p.usedFor}`).join('\n');
console.error(`stella's test suite needs programs this machine lacks:\n${describe}`);

if (values.check || process.getuid?.() !== 0) {
  console.error(`\nInstall them, then run the command again:\n  sudo apt-get update && sudo ${line}`);
  process.exit(1);
}

console.error(`\nrunning as root: apt-get update && ${line}`);
const apt = (args: string[]) =>
  spawnSync('apt-get', args, {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
for (const [step, args] of [
  ['apt-get update', ['update', '-qq']],
  ['apt-get install', ['install', '-y', '-qq', '--no-install-recommends', ...debianPackages(names)]],
] as const) {
  const run = apt([...args]);
  if (run.status !== 0) {
    console.error(`${step} failed (exit ${run.status ?? run.signal}); install by hand: ${line}`);
    process.exit(1);
  }
}
const still = missingPrerequisites().map((p) => p.command);
if (still.length > 0) {
  console.error(`still missing after apt-get install: ${still.join(', ')}`);
  process.exit(1);
}
console.error('prerequisites installed');
