// A throwaway OCI registry (Debian's docker-registry, the CNCF distribution registry v2) on loopback over
// plain HTTP, storing into a temporary directory, for tests of pushing export bundles as OCI artifacts.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable, onFreePort, startChildServer } from './binaries.ts';

export interface RegistryServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `127.0.0.1:<port>`, the form image references and skopeo's docker:// transport use. */
  host: string;
  port: number;
  stop(): Promise<void>;
}

/** Per probe of GET /v2/: a listening but wedged server must not stall the poll loop past its deadline. */
const PROBE_TIMEOUT_MS = 1000;

export function findRegistryServer(): string {
  return findExecutable('docker-registry');
}

/** skopeo is the independent OCI client the tests check layouts and pushed artifacts with. */
export function findSkopeo(): string {
  return findExecutable('skopeo');
}

export interface SkopeoResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A copy of a few MB to loopback takes well under a second; a minute means skopeo is stuck. */
const SKOPEO_TIMEOUT_MS = 60_000;

/** Runs skopeo with `--insecure-policy` (a test machine has no signature policy to honour); never throws. */
export function runSkopeo(...args: string[]): Promise<SkopeoResult> {
  const bin = findSkopeo();
  return new Promise((resolve) => {
    execFile(bin, ['--insecure-policy', ...args], { timeout: SKOPEO_TIMEOUT_MS }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Starts docker-registry bound to 127.0.0.1 with filesystem storage and deletes enabled. `port` pins the
 * port; without it a free port is chosen.
 */
export async function startRegistry(options: { port?: number } = {}): Promise<RegistryServer> {
  const bin = findRegistryServer();
  return onFreePort('docker-registry', options.port, (port) => startOn(bin, port));
}

async function startOn(bin: string, port: number): Promise<RegistryServer> {
  const dir = mkdtempSync(join(tmpdir(), 'stella-registry-'));
  const configPath = join(dir, 'config.yml');
  // Every response of this registry carries the token, so a probe answered by another server that already
  // holds the port (a pinned port in use) is not mistaken for this one coming up.
  const instanceToken = randomUUID();
  writeFileSync(configPath, registryConfig(join(dir, 'storage'), port, instanceToken));
  const url = `http://127.0.0.1:${port}`;
  const { stop } = await startChildServer({
    name: 'docker-registry',
    bin,
    args: ['serve', configPath],
    dir,
    ready: () => answersApiVersion(url, instanceToken),
    readyWhat: 'answer GET /v2/',
    // Storage is thrown away, so no reason to wait for a graceful shutdown.
  });
  return { url, host: `127.0.0.1:${port}`, port, stop };
}

const INSTANCE_HEADER = 'X-Stella-Registry-Instance';

function registryConfig(storageDir: string, port: number, instanceToken: string): string {
  // JSON is valid YAML, and quoting through JSON.stringify keeps odd temp paths intact.
  return `${JSON.stringify(
    {
      version: 0.1,
      log: { level: 'warn', accesslog: { disabled: true } },
      storage: {
        filesystem: { rootdirectory: storageDir },
        delete: { enabled: true },
        // The purge job would otherwise wake up and scan the storage of a registry that lives seconds.
        maintenance: { uploadpurging: { enabled: false } },
      },
      http: { addr: `127.0.0.1:${port}`, secret: instanceToken, headers: { [INSTANCE_HEADER]: [instanceToken] } },
    },
    null,
    2,
  )}\n`;
}

async function answersApiVersion(url: string, instanceToken: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await response.body?.cancel();
    return response.status === 200 && response.headers.get(INSTANCE_HEADER) === instanceToken;
  } catch {
    return false;
  }
}
