// The README walkthrough, as written, against a fresh server (`npm run demo`, scripts/demo.ts): every
// marked command runs in one bash with the repository as working directory and must exit as the README
// says; the second-tenant block runs too, because the server starts with examples/stella.yaml.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { testBackend } from '@stella/testkit';
import { startTestServer, type TestServer } from '../helpers.ts';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

let t: TestServer;
before(async () => {
  t = await startTestServer({}, readFileSync(`${ROOT}examples/stella.yaml`, 'utf8'));
});
after(() => t.close());

test(`every README walkthrough command runs as written (npm run demo, ${testBackend()})`, {
  timeout: 600_000,
}, async () => {
  const port = new URL(t.base).port;
  const run = await new Promise<{ code: number | null; output: string }>((resolve) => {
    // Only the settings a user's shell would have: where the state lives and the port.
    const child = spawn(process.execPath, ['scripts/demo.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, STELLA_HOME: t.home, STELLA_SERVER_PORT: port },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.on('close', (code) => resolve({ code, output }));
  });
  assert.equal(run.code, 0, run.output.slice(-6000));
  assert.doesNotMatch(run.output, /demo: skipping/, 'the second-tenant block ran');
  for (const file of [
    'README.md',
    'docs/runbooks/aoc.md',
    'docs/runbooks/signals.md',
    'docs/runbooks/export.md',
    'docs/runbooks/platform.md',
  ]) {
    assert.match(run.output, new RegExp(`demo: every step of ${file} ran as written`));
  }
  // What the steps showed, not only that they exited 0.
  assert.match(run.output, /"upstream_id": "GO-2024-2687"/, 'the linkset query finds the osv-go advisory');
  assert.match(run.output, /"state": "ConfirmedReachable"/, 'the example reaches ConfigureServer and it ran');
  assert.match(run.output, /"state": "StaticallyUnreachable"/, 'ClientConn.Ping has no path from main');
  assert.match(run.output, /GHSA-c2qf-rxjj-qqgw\s+semver Range\.parseRange\s+ConfirmedReachable\s+runtime\s+ran/);
  assert.match(run.output, /GHSA-9wv6-86v2-598j\s+path-to-regexp pathtoRegexp\s+RuntimeObserved\s+runtime\s+ran/);
  assert.match(
    run.output,
    /GHSA-75v8-2h7p-7m2m\s+formidable IncomingForm\._setUpRename\s+StaticallyUnreachable\s+unreachable\s+-/,
  );
  assert.match(run.output, /GHSA-ghmj-crg5-xw2j\s+yargs-parser \(no symbol data\)\s+Unknown \(no_symbol_data\)/);
  assert.match(run.output, /^0$/m, 'tenant acme sees none of the default tenant advisories');
  assert.match(run.output, /^403$/m, "an acme token is refused for tenant default's timeline");
  assert.match(run.output, /^<$/m, 'npm orders 1.2.3 before 1.10.0');
  assert.match(run.output, /pkg:npm\/semver@7\.5\.1\s+CVE-2022-25883\s+7\.5\.2/, 'the scan table names semver');
  assert.match(
    run.output,
    /4 findings in 62 components/,
    'the scan finds formidable, path-to-regexp, semver and yargs-parser',
  );
  assert.match(
    run.output,
    /^CVE-2025-46653\nCVE-2024-45296\nCVE-2022-25883\nGHSA-ghmj-crg5-xw2j$/m,
    'the SPDX scan, as JSON lines',
  );
  assert.match(
    run.output,
    /pkg:npm\/path-to-regexp@0\.1\.7\s+CVE-2024-45296\s+0\.1\.10\s+reachable\s+-\s+fail\s+reachable-high /,
    'the policy fails the reachable path-to-regexp',
  );
  assert.match(
    run.output,
    /pkg:npm\/formidable@3\.5\.2\s+CVE-2025-46653\s+3\.5\.3\s+unreachable\s+-\s+pass\s+unreachable-low /,
    'and passes the unreachable formidable',
  );
  assert.match(
    run.output,
    /^pkg:npm\/path-to-regexp@0\.1\.7\s+CVE-2024-45296\s+high\s+reachable\s+none\s+fail\s+reachable-high\s+finding:/m,
    'the stored finding',
  );
});
