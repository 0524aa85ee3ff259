// `npm run demo`: runs the README walkthrough and then the runbooks' runnable blocks, as written, against
// the local server and prints what each step showed. The steps are the ```sh blocks that follow a
// `<!-- demo -->` line; a test runs this against a fresh server, so the docs cannot drift from the code.
//
// - The steps of one file run in one bash (`set -uo pipefail`), so variables set by one step (TOKEN,
//   CG, HASH, RUN) are there for the next, and each file sets what it uses; a step must exit 0 unless
//   its comment says `(exit N)`.
// - `localhost:8440` in a step becomes the port of STELLA_SERVER_PORT, the setting the server and the
//   CLI use, so the walkthrough runs against a server on another port unchanged.
// - `<!-- demo requires-client id:secret -->` marks a block that needs a client the default set-up lacks
//   (the second tenant of examples/stella.yaml): without it the block is skipped with the reason.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

/** README first: the runbooks build on the data its walkthrough ingests. */
const FILES = [
  'README.md',
  'docs/runbooks/aoc.md',
  'docs/runbooks/signals.md',
  'docs/runbooks/export.md',
  'docs/runbooks/platform.md',
];
const { positionals } = parseArgs({ allowPositionals: true });

interface DemoBlock {
  line: number;
  commands: DemoCommand[];
  requiresClient?: { id: string; secret: string };
}

interface DemoCommand {
  text: string;
  expectedExit: number;
}

/** The marked ```sh blocks of a markdown file, split into commands (continuation lines joined). */
function demoBlocks(markdown: string): DemoBlock[] {
  const lines = markdown.split('\n');
  const blocks: DemoBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const marker = /^<!-- demo(?: requires-client ([^:\s]+):(\S+))? -->$/.exec(lines[i]!);
    if (!marker) continue;
    if (lines[i + 1] !== '```sh') throw new Error(`line ${i + 1}: a demo marker must sit right above a \`\`\`sh block`);
    const block: DemoBlock = {
      line: i + 2,
      commands: [],
      ...(marker[1] ? { requiresClient: { id: marker[1], secret: marker[2]! } } : {}),
    };
    let pending = '';
    for (i += 2; i < lines.length && lines[i] !== '```'; i++) {
      const line = lines[i]!;
      pending = pending ? `${pending}\n${line}` : line;
      if (/(\\|\|)\s*$/.test(line)) continue;
      if (pending.trim() && !pending.trimStart().startsWith('#')) {
        const expected = /#.*\(exit (\d+)/.exec(pending);
        block.commands.push({ text: pending, expectedExit: expected ? Number(expected[1]) : 0 });
      }
      pending = '';
    }
    blocks.push(block);
  }
  return blocks;
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

function bashScript(file: string, blocks: DemoBlock[], skipped: ReadonlySet<DemoBlock>, port: string): string {
  const out = ['set -uo pipefail'];
  for (const block of blocks) {
    if (skipped.has(block)) continue;
    for (const command of block.commands) {
      const text = command.text.replaceAll(/(localhost|127\.0\.0\.1):8440\b/g, `$1:${port}`);
      out.push(
        `printf '\\n\\033[1m$ %s\\033[0m\\n' ${quote(command.text)}`,
        text,
        'status=$?',
        `if [ "$status" -ne ${command.expectedExit} ]; then echo "demo: ${file}:${block.line}: exit $status, expected ${command.expectedExit}" >&2; exit 1; fi`,
      );
    }
  }
  out.push(`printf '\\ndemo: every step of ${file} ran as written\\n'`);
  return out.join('\n');
}

async function clientWorks(base: string, id: string, secret: string): Promise<boolean> {
  const response = await fetch(`${base}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: id, client_secret: secret }),
  });
  await response.body?.cancel();
  return response.ok;
}

if (import.meta.main) {
  const port = process.env.STELLA_SERVER_PORT || '8440';
  const base = `http://127.0.0.1:${port}`;
  const ready = await fetch(`${base}/readyz`).then(
    (r) => r.ok,
    () => false,
  );
  if (!ready) {
    console.error(`demo: no ready stella server at ${base}: start one with \`npm start\` in another shell first`);
    process.exit(1);
  }
  for (const file of positionals.length > 0 ? positionals : FILES) {
    const blocks = demoBlocks(readFileSync(file, 'utf8'));
    const skipped = new Set<DemoBlock>();
    for (const block of blocks) {
      if (block.requiresClient && !(await clientWorks(base, block.requiresClient.id, block.requiresClient.secret))) {
        skipped.add(block);
        console.error(
          `demo: skipping the block at ${file}:${block.line}: the server does not know client ${block.requiresClient.id}; start it with \`npm start -- --config examples/stella.yaml\` to run it`,
        );
      }
    }
    console.log(`\n\u001b[1m== ${file} ==\u001b[0m`);
    const run = spawnSync('bash', ['-c', bashScript(file, blocks, skipped, port)], { stdio: 'inherit' });
    if (run.status !== 0) process.exit(run.status ?? 1);
  }
}
