// The programs the test suite and the README walkthrough run, each with the Debian package that brings
// it. One list: `npm test`'s pre-step and .ci/run check it (scripts/prerequisites.ts), the README's
// prerequisites are generated from it, and the kit's lookups name the package from it when one is missing.
import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface Prerequisite {
  /** The program looked up; for PostgreSQL the server binary in /usr/lib/postgresql/<15+>/bin. */
  command: string;
  debianPackage: string;
  usedFor: string;
  /** A file the package installs, checked instead of looking `command` up (for libraries, not programs). */
  path?: string;
}

export const PREREQUISITES: readonly Prerequisite[] = [
  { command: 'postgres', debianPackage: 'postgresql', usedFor: 'the PostgreSQL leg (a throwaway 15+ cluster)' },
  { command: 'runuser', debianPackage: 'util-linux', usedFor: 'running that cluster as `postgres` when root' },
  { command: 'setpriv', debianPackage: 'util-linux', usedFor: 'test servers die with the test process' },
  { command: 'redis-server', debianPackage: 'redis-server', usedFor: 'environment-wide rate limits' },
  { command: 'nats-server', debianPackage: 'nats-server', usedFor: 'fact events over JetStream' },
  { command: 'docker-registry', debianPackage: 'docker-registry', usedFor: 'pushing bundles as OCI artifacts' },
  { command: 'skopeo', debianPackage: 'skopeo', usedFor: 'reading OCI layouts and pushed artifacts back' },
  {
    command: 'umoci',
    debianPackage: 'umoci',
    usedFor: 'unpacking the stella OCI image to run it without an engine (deploy-image test)',
  },
  {
    command: 'docker-compose',
    debianPackage: 'docker-compose',
    usedFor: 'validating ops/deploy/compose/compose.yaml (`docker-compose config`, no engine needed)',
  },
  {
    command: 'systemd-analyze',
    debianPackage: 'systemd',
    usedFor: 'checking the unit files in ops/deploy/systemd (`systemd-analyze verify`)',
  },
  { command: 'promtool', debianPackage: 'prometheus', usedFor: 'checking and testing the alert rules' },
  { command: 'amtool', debianPackage: 'prometheus-alertmanager', usedFor: 'checking the Alertmanager routes' },
  { command: 'openssl', debianPackage: 'openssl', usedFor: 'verifying bundle signatures independently' },
  { command: 'gpg', debianPackage: 'gnupg', usedFor: 'OpenPGP-signed advisory feeds' },
  { command: 'zstd', debianPackage: 'zstd', usedFor: 'reading bundles independently' },
  { command: 'zip', debianPackage: 'zip', usedFor: 'OSV `all.zip` archives' },
  { command: 'tar', debianPackage: 'tar', usedFor: 'reading bundles independently' },
  { command: 'gzip', debianPackage: 'gzip', usedFor: 'compressed runtime traces' },
  { command: 'sha256sum', debianPackage: 'coreutils', usedFor: 'checking bundle checksums independently' },
  {
    command: 'go',
    debianPackage: 'golang-go',
    usedFor: 'building the bbolt and Trivy DB checkers (packages/testkit/tools)',
  },
  {
    command: 'go.etcd.io/bbolt',
    path: '/usr/share/gocode/src/go.etcd.io/bbolt/db.go',
    debianPackage: 'golang-github-coreos-bbolt-dev',
    usedFor: "Go's bbolt, reading exported trivy.db files independently",
  },
  { command: 'age', debianPackage: 'age', usedFor: 'decrypting encrypted bundles independently' },
  { command: 'chromium', debianPackage: 'chromium', usedFor: 'console tests in a real browser' },
  { command: 'curl', debianPackage: 'curl', usedFor: 'the README walkthrough (`npm run demo`)' },
  { command: 'jq', debianPackage: 'jq', usedFor: 'the README walkthrough (`npm run demo`)' },
];

const SYSTEM_DIRS = ['/usr/sbin', '/usr/bin', '/usr/local/bin', '/sbin', '/bin'];

/** The Debian packages that bring the given programs, in the order of the list, each once. */
export function debianPackages(commands: readonly string[]): string[] {
  const known = PREREQUISITES.filter((p) => commands.includes(p.command)).map((p) => p.debianPackage);
  const unknown = commands.filter((c) => !PREREQUISITES.some((p) => p.command === c));
  return [...new Set([...known, ...unknown])];
}

export function installLine(commands: readonly string[]): string {
  return `apt-get install -y ${debianPackages(commands).join(' ')}`;
}

/** The directory holding PostgreSQL 15+ server binaries (newest first), else undefined. */
export function locatePostgresBin(): string | undefined {
  if (!existsSync('/usr/lib/postgresql')) return undefined;
  const versions = readdirSync('/usr/lib/postgresql')
    .filter((v) => Number(v) >= 15)
    .sort((a, b) => Number(b) - Number(a));
  return versions.map((v) => `/usr/lib/postgresql/${v}/bin`).find((dir) => existsSync(join(dir, 'postgres')));
}

/** The absolute path of an executable on PATH or in the system directories, else undefined. */
export function locateExecutable(name: string): string | undefined {
  if (name === 'postgres') {
    const dir = locatePostgresBin();
    return dir ? join(dir, 'postgres') : undefined;
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter).concat(SYSTEM_DIRS)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** The listed programs this machine lacks. */
export function missingPrerequisites(): Prerequisite[] {
  return PREREQUISITES.filter((p) => (p.path ? !existsSync(p.path) : locateExecutable(p.command) === undefined));
}

/** The README's prerequisites table (spliced in by `npm run gen:docs`, checked by the docs test). */
export function renderPrerequisites(): string {
  return [
    '| program (or Go library) | Debian package | used for |',
    '|---|---|---|',
    ...PREREQUISITES.map((p) => `| \`${p.command}\` | \`${p.debianPackage}\` | ${p.usedFor} |`),
    '',
    `All at once: \`${installLine(PREREQUISITES.map((p) => p.command))}\`.`,
  ].join('\n');
}

const BEGIN = '<!-- prerequisites: generated by `npm run gen:docs` from packages/testkit/src/prerequisites.ts -->';
const END = '<!-- /prerequisites -->';

/** The README with its prerequisites block replaced by the current list. */
export function spliceReadmePrerequisites(readme: string): string {
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md lacks the markers ${BEGIN} … ${END}`);
  return `${readme.slice(0, start + BEGIN.length)}\n${renderPrerequisites()}\n${readme.slice(end)}`;
}
