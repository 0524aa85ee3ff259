// Builds stella's OCI image without a base image, a daemon or the network: an OCI image layout
// (skopeo `oci:<dir>:<tag>`) of three layers (runtime, dependencies, app) written with GNU tar and
// zlib, reading the app and its dependencies straight from the checkout. Same inputs give the same digests: fixed mtimes (SOURCE_DATE_EPOCH, by default the commit
// time), sorted members, owner 0 and normalised modes, pax headers without atime/ctime, gzip without
// name or time. Runs unprivileged; root is needed only to *run* the image without an engine.
//
//   npm run image -- [flags]            (= node scripts/image.ts)
//     --out <dir>             OCI layout to write (default dist/image; replaced if present)
//     --tag <tag>             ref name inside the layout (default: the stella version)
//     --source-date-epoch <s> every mtime and the created time (default: env SOURCE_DATE_EPOCH, else
//                             `git log -1 --format=%ct`)
//     --revision <sha>        org.opencontainers.image.revision (default: `git rev-parse HEAD`)
//     --source <url>          org.opencontainers.image.source (default: env STELLA_IMAGE_SOURCE, else
//                             `git remote get-url origin`; without any of them the build stops)
//     --gzip-level <1-9>      layer compression (default 6); part of the inputs: another level is
//                             another digest
//     --keep-stage <dir>      also leave the staged runtime layer here (for inspection)
//   then e.g. `skopeo copy oci:dist/image:<tag> docker://registry.example/stella:<tag>`.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createGzip } from 'node:zlib';

/** Where the app lives in the image; the entrypoint and WorkingDir name it. */
export const APP_DIR = '/app';
/** $STELLA_HOME in the image: a volume owned by the image's user. */
export const IMAGE_HOME = '/var/lib/stella';
/** The image's user: a fixed uid without a login shell (no shell exists in the image anyway). The
 * distroless "nonroot" number, so volume ownership carries over from images operators already run. */
export const IMAGE_UID = 65532;
/** server.port's default; the image listens there on all of its addresses (STELLA_SERVER_HOST=0.0.0.0). */
export const IMAGE_PORT = 8440;
export const IMAGE_NODE = '/usr/local/bin/node';
export const IMAGE_ENTRYPOINT = [IMAGE_NODE, '--disable-proto=delete', `${APP_DIR}/packages/cli/src/bin.ts`];
const DEFAULT_GZIP_LEVEL = 6;

/**
 * Build-time packages of a workspace, left out of the image: the console's browser code is bundled by
 * Vite into packages/console/dist at `npm install` (prepare), so Vite, its plugins and the Preact and
 * uPlot sources (about 45 MB with the native rolldown and lightningcss binaries) never run in a server.
 */
const BUILD_ONLY: Record<string, readonly string[]> = {
  '@stella/console': ['@preact/preset-vite', 'vite', 'preact', 'preact-iso', 'uplot'],
};
/** What a workspace package brings besides package.json; tests, web sources and tool configs stay out. */
const WORKSPACE_DIRS = ['src', 'migrations', 'schemas', 'dist'];

export interface BuildImageOptions {
  /** Repository root (default: this script's parent directory). */
  root?: string;
  out: string;
  tag?: string;
  sourceDateEpoch?: number;
  revision?: string;
  source?: string;
  gzipLevel?: number;
  keepStage?: string;
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
}

export interface BuiltLayer {
  name: string;
  /** Of the gzip blob, as the manifest and registries name it. */
  digest: string;
  size: number;
  /** Of the uncompressed tar, as the config's rootfs names it. */
  diffId: string;
}

export interface BuiltImage {
  layout: string;
  tag: string;
  /** `oci:<layout>:<tag>`, skopeo's reference to it. */
  reference: string;
  manifestDigest: string;
  configDigest: string;
  layers: BuiltLayer[];
  config: ImageConfig;
}

export interface ImageConfig {
  created: string;
  architecture: string;
  os: 'linux';
  config: {
    User: string;
    ExposedPorts: Record<string, Record<string, never>>;
    Env: string[];
    Entrypoint: string[];
    Cmd: string[];
    WorkingDir: string;
    Volumes: Record<string, Record<string, never>>;
    Labels: Record<string, string>;
    StopSignal: string;
  };
  rootfs: { type: 'layers'; diff_ids: string[] };
  history: { created: string; created_by: string; comment: string }[];
}

export class ImageBuildError extends Error {
  override name = 'ImageBuildError';
}

export async function buildImage(options: BuildImageOptions): Promise<BuiltImage> {
  const root = resolve(options.root ?? join(import.meta.dirname, '..'));
  const log = options.log ?? (() => {});
  const version = (JSON.parse(readFileSync(join(root, 'packages/core/package.json'), 'utf8')) as { version: string })
    .version;
  const tag = options.tag ?? version;
  const epoch = options.sourceDateEpoch ?? sourceDateEpochOf(root);
  const revision = options.revision ?? git(root, 'rev-parse', 'HEAD');
  const gzipLevel = options.gzipLevel ?? DEFAULT_GZIP_LEVEL;
  if (!Number.isInteger(epoch) || epoch < 0) {
    throw new ImageBuildError(`SOURCE_DATE_EPOCH must be whole seconds ≥ 0, not ${epoch}`);
  }
  if (!Number.isInteger(gzipLevel) || gzipLevel < 1 || gzipLevel > 9) {
    throw new ImageBuildError(`--gzip-level must be 1-9, not ${gzipLevel}`);
  }
  if (!/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(tag)) throw new ImageBuildError(`not a valid OCI tag: ${tag}`);
  const architecture = OCI_ARCH[process.arch];
  if (!architecture) throw new ImageBuildError(`no OCI architecture for ${process.arch}`);
  const created = new Date(epoch * 1000).toISOString().replace('.000Z', 'Z');
  const source = options.source || process.env.STELLA_IMAGE_SOURCE || originUrl(root);
  if (!/^https?:\/\/[^\s]+$/.test(source)) throw new ImageBuildError(`--source must be an http(s) URL, not ${source}`);

  const work = mkdtempSync(join(tmpdir(), 'stella-image-'));
  try {
    const stage = join(work, 'runtime');
    const nodeVersion = stageRuntime(root, stage);
    // The dependencies and the app are packed straight from the checkout (no copy): GNU tar reads the
    // listed paths and puts them under app/.
    const { dependencies, app, packages } = listAppAndDependencies(root);
    checkImports(root, app, dependencies);
    log(`node ${nodeVersion}; ${packages.workspaces} workspace packages, ${packages.dependencies} dependencies`);

    const blobs = join(work, 'layout', 'blobs', 'sha256');
    mkdirSync(blobs, { recursive: true });
    const sources: [string, LayerSource][] = [
      ['runtime', { directory: stage }],
      ['dependencies', { directory: root, paths: dependencies }],
      ['app', { directory: root, paths: app }],
    ];
    const layers: BuiltLayer[] = [];
    for (const [name, source] of sources) {
      log(`packing the ${name} layer`);
      layers.push({ name, ...(await packLayer(name, source, epoch, gzipLevel, work, blobs)) });
    }

    const labels: Record<string, string> = {
      'org.opencontainers.image.created': created,
      'org.opencontainers.image.description':
        'stella: offline-first evidence platform for software supply-chain security',
      'org.opencontainers.image.licenses': 'Apache-2.0',
      'org.opencontainers.image.revision': revision,
      'org.opencontainers.image.source': source,
      'org.opencontainers.image.title': 'stella',
      'org.opencontainers.image.version': version,
    };
    const config: ImageConfig = {
      created,
      architecture,
      os: 'linux',
      config: {
        User: `${IMAGE_UID}:${IMAGE_UID}`,
        ExposedPorts: { [`${IMAGE_PORT}/tcp`]: {} },
        Env: [
          'PATH=/usr/local/bin:/usr/bin:/bin',
          `STELLA_HOME=${IMAGE_HOME}`,
          // In a container the loopback default would be unreachable from the published port.
          'STELLA_SERVER_HOST=0.0.0.0',
        ],
        Entrypoint: IMAGE_ENTRYPOINT,
        Cmd: ['serve'],
        WorkingDir: APP_DIR,
        Volumes: { [IMAGE_HOME]: {} },
        Labels: labels,
        // serve drains on SIGTERM within server.shutdownGraceMs + 5 s (serve-command.ts).
        StopSignal: 'SIGTERM',
      },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: layers.map((l) => ({ created, created_by: 'scripts/image.ts', comment: `${l.name} layer` })),
    };
    const configBlob = writeBlob(blobs, config);
    const manifestBlob = writeBlob(blobs, {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...configBlob },
      layers: layers.map((l) => ({
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest: l.digest,
        size: l.size,
      })),
      annotations: labels,
    });
    const layoutDir = join(work, 'layout');
    writeFileSync(join(layoutDir, 'oci-layout'), `${JSON.stringify({ imageLayoutVersion: '1.0.0' })}\n`);
    writeFileSync(
      join(layoutDir, 'index.json'),
      `${JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            ...manifestBlob,
            annotations: { 'org.opencontainers.image.ref.name': tag },
          },
        ],
      })}\n`,
    );

    const out = resolve(options.out);
    replaceWith(layoutDir, out);
    // The default output sits in the checkout: keep its ~80 MB of blobs out of `git add -A`.
    const ignore = join(dirname(out), '.gitignore');
    if (dirname(out) === join(root, 'dist') && !existsSync(ignore)) writeFileSync(ignore, '*\n');
    if (options.keepStage) replaceWith(stage, resolve(options.keepStage));
    log(`wrote oci:${out}:${tag} (manifest ${manifestBlob.digest})`);
    return {
      layout: out,
      tag,
      reference: `oci:${out}:${tag}`,
      manifestDigest: manifestBlob.digest,
      configDigest: configBlob.digest,
      layers,
      config,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const OCI_ARCH: Partial<Record<NodeJS.Architecture, string>> = { x64: 'amd64', arm64: 'arm64' };

function git(root: string, ...args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (error) {
    throw new ImageBuildError(
      `git ${args.join(' ')} failed (${(error as Error).message.split('\n')[0]}); outside a git checkout pass --source-date-epoch and --revision`,
    );
  }
}

/** The checkout's origin without credentials; the image's source label must name where the code lives. */
function originUrl(root: string): string {
  let url: string;
  try {
    url = execFileSync('git', ['remote', 'get-url', 'origin'], { cwd: root, encoding: 'utf8', stdio: 'pipe' }).trim();
  } catch {
    throw new ImageBuildError(
      'this checkout has no git remote "origin": pass --source <url> (or STELLA_IMAGE_SOURCE) naming where the source of this image lives',
    );
  }
  // git@host:owner/repo.git → https://host/owner/repo
  const scp = /^[^@/]+@([^:]+):(.+?)(?:\.git)?$/.exec(url);
  if (scp) return `https://${scp[1]}/${scp[2]}`;
  return url.replace(/\/\/[^@/]*@/, '//').replace(/\.git$/, '');
}

function sourceDateEpochOf(root: string): number {
  const fromEnv = process.env.SOURCE_DATE_EPOCH;
  return Number(fromEnv !== undefined && fromEnv !== '' ? fromEnv : git(root, 'log', '-1', '--format=%ct'));
}

/**
 * The Node runtime from the npm `node` package (the same binary the repository runs with), the shared
 * libraries it loads (from `ldd`, at the paths the dynamic loader asks for), and the few files of /etc
 * a process reads: its user and group, and name resolution. Node carries its own CA certificates, so
 * no /etc/ssl is needed; a private CA is added with NODE_EXTRA_CA_CERTS. Returns the node version.
 */
function stageRuntime(root: string, dir: string): string {
  const nodeBin = join(root, 'node_modules/node/bin/node');
  if (!existsSync(nodeBin)) {
    throw new ImageBuildError(`${nodeBin} is missing: run npm install (the npm package "node" brings the runtime)`);
  }
  copyInto(dir, IMAGE_NODE, realpathSync(nodeBin));
  for (const library of sharedLibraries(nodeBin)) copyInto(dir, library, realpathSync(library));
  const etc = join(dir, 'etc');
  mkdirSync(etc, { recursive: true });
  writeFileSync(
    join(etc, 'passwd'),
    `root:x:0:0:root:/root:/sbin/nologin\nstella:x:${IMAGE_UID}:${IMAGE_UID}:stella:${IMAGE_HOME}:/sbin/nologin\n`,
  );
  writeFileSync(join(etc, 'group'), `root:x:0:\nstella:x:${IMAGE_UID}:\n`);
  // glibc's built-in files and dns services (in libc.so.6 since 2.34); without this file glibc would
  // ask DNS before /etc/hosts, where compose and Kubernetes put the service names.
  writeFileSync(join(etc, 'nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n');
  // Mount points a runtime fills (proc, dev), the app's directory the other layers fill, and tmp and
  // the home, whose modes and owner packLayer sets.
  for (const path of ['tmp', IMAGE_HOME.slice(1), 'proc', 'dev', APP_DIR.slice(1)]) {
    mkdirSync(join(dir, path), { recursive: true });
  }
  try {
    return execFileSync(nodeBin, ['--version'], { encoding: 'utf8' }).trim();
  } catch (error) {
    throw new ImageBuildError(`${nodeBin} does not run here: ${(error as Error).message}`);
  }
}

/** The absolute paths `ldd` resolves for a binary, the dynamic loader included. */
function sharedLibraries(binary: string): string[] {
  let output: string;
  try {
    output = execFileSync('ldd', [binary], { encoding: 'utf8' });
  } catch (error) {
    throw new ImageBuildError(`ldd ${binary} failed: ${(error as Error).message} (Debian package libc-bin)`);
  }
  const paths = new Set<string>();
  for (const line of output.split('\n')) {
    if (/not found/.test(line)) throw new ImageBuildError(`ldd ${binary}: ${line.trim()}`);
    const match = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(0x/.exec(line);
    if (match) paths.add(match[1]!);
  }
  return [...paths].sort();
}

function copyInto(dir: string, imagePath: string, from: string): void {
  const target = join(dir, imagePath);
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(from, target);
  chmodSync(target, 0o755);
}

/**
 * The workspace packages the `stella` command loads (from packages/cli's dependencies) and the registry
 * packages they depend on at run time, resolved the way Node resolves them from the checkout's
 * node_modules: repository-relative paths (directories, files and links), each parent listed, sorted.
 * Workspace links (node_modules/@stella/*) stay links, as npm makes them.
 */
function listAppAndDependencies(root: string) {
  const dependencies = new Set<string>();
  const app = new Set<string>();
  const seen = new Set<string>();
  let workspaces = 0;
  const add = (into: Set<string>, path: string) => {
    for (let p = path; p !== '.' && !into.has(p); p = dirname(p)) into.add(p);
  };
  const visit = (fromDir: string, name: string) => {
    const located = locatePackage(root, fromDir, name);
    if (!located) {
      throw new ImageBuildError(
        `${name}, needed by ${relative(root, fromDir) || '.'}, is not installed: run npm install`,
      );
    }
    const { moduleDir, realDir } = located;
    const key = relative(root, moduleDir);
    if (seen.has(key)) return;
    seen.add(key);
    const manifest = JSON.parse(readFileSync(join(realDir, 'package.json'), 'utf8')) as PackageJson;
    if (realDir.startsWith(`${join(root, 'packages')}/`)) {
      workspaces++;
      add(dependencies, key); // the link
      const rel = relative(root, realDir);
      add(app, join(rel, 'package.json'));
      for (const sub of WORKSPACE_DIRS) {
        if (existsSync(join(realDir, sub))) for (const path of walk(root, join(rel, sub))) add(app, path);
      }
      if (rel === 'packages/console' && !existsSync(join(realDir, 'dist/index.html'))) {
        throw new ImageBuildError('packages/console/dist is not built: run `npm run build -w @stella/console`');
      }
    } else {
      // Nested node_modules are visited as dependencies of their own, so only what is needed comes.
      for (const path of walk(root, key, 'node_modules')) add(dependencies, path);
    }
    const skip = new Set(BUILD_ONLY[name] ?? []);
    const wanted = { ...manifest.dependencies, ...manifest.optionalDependencies, ...manifest.peerDependencies };
    for (const dep of Object.keys(wanted).sort()) {
      if (skip.has(dep) || dep.startsWith('@types/')) continue;
      const optional =
        dep in (manifest.optionalDependencies ?? {}) || manifest.peerDependenciesMeta?.[dep]?.optional === true;
      if (optional && !locatePackage(root, moduleDir, dep)) continue; // another platform's binary, or not wanted
      visit(moduleDir, dep);
    }
  };
  visit(join(root, 'packages/cli'), '@stella/cli');
  return {
    dependencies: byteOrder(dependencies),
    app: byteOrder(app),
    packages: { workspaces, dependencies: seen.size - workspaces },
  };
}

interface PackageJson {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/** Sorted by code unit, not by locale: the order must not depend on the builder's environment. */
function byteOrder(paths: Iterable<string>): string[] {
  return [...paths].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Node's lookup: node_modules/<name> in the directory and each parent, up to the repository root. */
function locatePackage(
  root: string,
  fromDir: string,
  name: string,
): { moduleDir: string; realDir: string } | undefined {
  for (let dir = fromDir; dir.startsWith(root); dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return { moduleDir: candidate, realDir: realpathSync(candidate) };
    if (dir === root) break;
  }
  return undefined;
}

/** A directory and everything under it, repository-relative, without entering `skip` directories. */
function* walk(root: string, path: string, skip?: string): Generator<string> {
  yield path;
  for (const entry of readdirSync(join(root, path), { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (entry.name !== skip) yield* walk(root, join(path, entry.name), skip);
    } else {
      yield join(path, entry.name);
    }
  }
}

/**
 * Every bare import in the app resolves to a listed package: a module the checkout finds only because
 * a dev dependency happens to be hoisted would otherwise fail in the image, and only when that code
 * path first runs (an S3 or PostgreSQL deployment, say) rather than at build time.
 */
function checkImports(root: string, app: readonly string[], dependencies: readonly string[]): void {
  const listed = new Set(dependencies);
  const missing = new Set<string>();
  const pattern =
    /(?:^|\n)\s*(?:import|export)\s+(type\s+)?(?:[^;'"]*?\sfrom\s+)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const file of app) {
    if (!file.endsWith('.ts') || file.includes('/dist/')) continue;
    // Comment lines may quote imports (`import('x')`) that are not there.
    const text = readFileSync(join(root, file), 'utf8')
      .split('\n')
      .filter((line) => !/^\s*(\/\/|\/\*|\*)/.test(line))
      .join('\n');
    for (const match of text.matchAll(pattern)) {
      if (match[1]) continue; // `import type`: erased before Node runs the file
      const specifier = match[2] ?? match[3]!;
      if (specifier.startsWith('.') || specifier.startsWith('node:') || specifier.startsWith('/')) continue;
      const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
      if (!listed.has(`node_modules/${name}`)) missing.add(`${name} (imported by ${file})`);
    }
  }
  if (missing.size > 0) {
    throw new ImageBuildError(
      `imported but not among the runtime dependencies, so the image would fail when that code runs: ${[...missing].join(', ')}; add them to that package's dependencies`,
    );
  }
}

interface LayerSource {
  directory: string;
  /** Paths under `directory`, packed in this order below app/; without: all of `directory` at /. */
  paths?: readonly string[];
}

/**
 * One layer: GNU tar with the reproducible-builds flags (sorted members, fixed mtime, owner 0, modes
 * normalised so the builder's umask and checkout do not leak in, hard links stored as files, pax
 * headers named without a pid and without atime/ctime), then /tmp (1777) and the home (0700, the
 * image's user) appended with their own owner and mode, so building needs no root. gzip from zlib at a
 * fixed level, with no name or time in its header.
 */
async function packLayer(
  name: string,
  source: LayerSource,
  epoch: number,
  gzipLevel: number,
  work: string,
  blobs: string,
): Promise<{ digest: string; size: number; diffId: string }> {
  const tarPath = join(work, `${name}.tar`);
  const special =
    name === 'runtime'
      ? [
          { path: 'tmp', mode: '1777', owner: 0 },
          { path: IMAGE_HOME.slice(1), mode: '0700', owner: IMAGE_UID },
        ]
      : [];
  const common = [
    '--format=posix',
    '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
    `--mtime=@${epoch}`,
    '--numeric-owner',
    '--hard-dereference',
    '--file',
    tarPath,
    '--directory',
    source.directory,
  ];
  const normal = ['--owner=0', '--group=0', '--mode=u+rwX,go+rX,go-w'];
  if (source.paths) {
    const list = join(work, `${name}.list`);
    writeFileSync(list, `${source.paths.join('\0')}\0`);
    // The app's paths are repository-relative; `S` keeps link targets (../../packages/x) as they are.
    await run('tar', [
      '--create',
      ...common,
      ...normal,
      '--no-recursion',
      `--transform=s,^,${APP_DIR.slice(1)}/,S`,
      '--null',
      '--files-from',
      list,
    ]);
  } else {
    await run('tar', [
      '--create',
      ...common,
      ...normal,
      '--sort=name',
      ...special.map((s) => `--exclude=${s.path}`),
      '--',
      ...byteOrder(readdirSync(source.directory)),
    ]);
  }
  for (const s of special) {
    const owner = [`--owner=${s.owner}`, `--group=${s.owner}`, `--mode=${s.mode}`];
    await run('tar', ['--append', ...common, '--no-recursion', ...owner, '--', s.path]);
  }
  const diffId = await digestFile(tarPath);
  const gzPath = join(work, `${name}.tar.gz`);
  const hash = createHash('sha256');
  let size = 0;
  await pipeline(
    createReadStream(tarPath),
    createGzip({ level: gzipLevel }),
    new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        size += chunk.length;
        callback(null, chunk);
      },
    }),
    createWriteStream(gzPath),
  );
  const digest = `sha256:${hash.digest('hex')}`;
  renameSync(gzPath, join(blobs, digest.slice('sha256:'.length)));
  rmSync(tarPath);
  return { digest, size, diffId };
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', (error) =>
      reject(new ImageBuildError(`${command} could not run: ${error.message} (GNU tar: Debian package tar)`)),
    );
    child.on('exit', (code) =>
      code === 0
        ? resolvePromise()
        : reject(new ImageBuildError(`${command} ${args.slice(0, 3).join(' ')} … exited ${code}: ${stderr.trim()}`)),
    );
  });
}

async function digestFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

/** JSON written once with a fixed key order (as built above), so its digest is stable. */
function writeBlob(blobs: string, value: unknown): { digest: string; size: number } {
  const bytes = Buffer.from(JSON.stringify(value));
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  writeFileSync(join(blobs, digest.slice('sha256:'.length)), bytes);
  return { digest, size: bytes.length };
}

/** Moves `from` to `to`, replacing what was there. */
function replaceWith(from: string, to: string): void {
  rmSync(to, { recursive: true, force: true });
  mkdirSync(dirname(to), { recursive: true });
  try {
    renameSync(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    cpSync(from, to, { recursive: true, verbatimSymlinks: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: 'dist/image' },
      tag: { type: 'string' },
      'source-date-epoch': { type: 'string' },
      revision: { type: 'string' },
      source: { type: 'string' },
      'gzip-level': { type: 'string' },
      'keep-stage': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    // The usage is this file's header comment.
    const header = readFileSync(import.meta.filename, 'utf8').split('\n');
    const usage = header.slice(header.findIndex((l) => l.includes('npm run image')));
    process.stdout.write(
      `${usage
        .slice(
          0,
          usage.findIndex((l) => !l.startsWith('//')),
        )
        .map((l) => l.slice(3))
        .join('\n')}\n`,
    );
    return;
  }
  const built = await buildImage({
    out: values.out,
    ...(values.tag !== undefined && { tag: values.tag }),
    ...(values['source-date-epoch'] !== undefined && { sourceDateEpoch: Number(values['source-date-epoch']) }),
    ...(values.revision !== undefined && { revision: values.revision }),
    ...(values.source !== undefined && { source: values.source }),
    ...(values['gzip-level'] !== undefined && { gzipLevel: Number(values['gzip-level']) }),
    ...(values['keep-stage'] !== undefined && { keepStage: values['keep-stage'] }),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  for (const layer of built.layers) {
    process.stderr.write(`  ${layer.name.padEnd(12)} ${layer.digest} ${(layer.size / 1e6).toFixed(1)} MB\n`);
  }
  // The result on stdout, for scripts: the reference to copy and the digest a registry will report.
  process.stdout.write(`${JSON.stringify({ reference: built.reference, digest: built.manifestDigest })}\n`);
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    process.stderr.write(`image: ${(error as Error).message}\n`);
    // 2: bad flags or an unusable checkout, which the message says how to fix; 1: anything else.
    const usage =
      error instanceof ImageBuildError || (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS');
    process.exitCode = usage ? 2 : 1;
  });
}
