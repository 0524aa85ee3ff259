// SPDX-License-Identifier: Apache-2.0
// Envelope encryption: recipients and identity files are validated (kms:// refused), the data key
// wrapped by our code unwraps with Debian's `age -d` and a file from `age -r` decrypts with ours,
// per-file AES-256-GCM has the documented layout and AAD and refuses every alteration without
// leaving output behind, and a 64 MiB file goes through in bounded memory.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { StellaError } from '@stella/core';
import { scratchDir } from '@stella/testkit';
import fc from 'fast-check';
import {
  ageDecryptFile,
  ageEncryptFile,
  createDataKey,
  decryptFile,
  type EncryptionRecord,
  encryptFile,
  NONCE_BYTES,
  parseAgeIdentities,
  parseAgeRecipients,
  TAG_BYTES,
  unwrapDataKey,
} from '../src/crypto/index.ts';

const dir = scratchDir('stella-crypto-');
let counter = 0;
const path = (name: string) => join(dir, `${counter++}-${name}`);

interface KeyPair {
  identityFile: string;
  identity: string;
  recipient: string;
}

/** A key pair made by Debian's age-keygen, as an operator would. */
function ageKeygen(): KeyPair {
  const identityFile = path('key.txt');
  execFileSync('age-keygen', ['-o', identityFile], { stdio: 'ignore' });
  const recipient = execFileSync('age-keygen', ['-y', identityFile], { encoding: 'utf8' }).trim();
  return { identityFile, identity: parseAgeIdentities(readFileSync(identityFile, 'utf8'))[0]!, recipient };
}

const alice = ageKeygen();
const bob = ageKeygen();
const mallory = ageKeygen();
const RUN = 'run-0001';

function file(name: string, bytes: Buffer): string {
  const p = path(name);
  writeFileSync(p, bytes);
  return p;
}

function coded(code: string, message?: RegExp) {
  return (error: StellaError) => {
    assert.equal(error.code, code, error.message);
    if (message) assert.match(error.message, message);
    return true;
  };
}

/** The directory holds no temp (.partial) files and, if named, no output file. */
function assertNothingLeft(out?: string): void {
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.endsWith('.partial')),
    [],
  );
  if (out) assert.throws(() => readFileSync(out), /ENOENT/);
}

async function sha256(p: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(p), hash);
  return hash.digest('hex');
}

describe('parseAgeRecipients', () => {
  test('age-keygen recipients come back sorted and deduplicated', () => {
    const expected = [alice.recipient, bob.recipient, mallory.recipient].sort();
    assert.deepEqual(
      parseAgeRecipients([mallory.recipient, alice.recipient, bob.recipient, alice.recipient]),
      expected,
    );
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(alice.recipient, bob.recipient, mallory.recipient), { minLength: 1 }),
        (keys) => {
          assert.deepEqual(parseAgeRecipients(keys), [...new Set(keys)].sort());
        },
      ),
    );
  });

  test('kms:// is refused: KMS is not available in this build, named by its pointer', () => {
    assert.throws(
      () => parseAgeRecipients([alice.recipient, 'kms://export/envelope']),
      (error: StellaError) => {
        assert.equal(error.code, 'ERR_EXPORT_001');
        assert.match(error.message, /\/spec\/encryption\/recipientKeys\/1: KMS is not available in this build/);
        assert.deepEqual(
          ((error.details?.errors ?? []) as { pointer: string }[]).map((p) => p.pointer),
          ['/spec/encryption/recipientKeys/1'],
        );
        return true;
      },
    );
  });

  test('malformed recipients are each refused by index, and a pasted secret key is never echoed', () => {
    const mistyped = alice.recipient.slice(0, -1) + (alice.recipient.endsWith('q') ? 'p' : 'q');
    const bad = ['age1x', mistyped, alice.identity, `age1pq1${'q'.repeat(60)}`, alice.recipient.toUpperCase(), ''];
    assert.throws(
      () => parseAgeRecipients([alice.recipient, ...bad], '/recipients'),
      (error: StellaError) => {
        assert.equal(error.code, 'ERR_EXPORT_001');
        const problems = error.details?.errors as { pointer: string; message: string }[];
        assert.deepEqual(
          problems.map((p) => p.pointer),
          bad.map((_, i) => `/recipients/${i + 1}`),
        );
        assert.match(problems[1]!.message, /checksum does not verify/);
        assert.match(problems[2]!.message, /secret key, not a recipient/);
        assert.match(problems[3]!.message, /post-quantum/);
        assert.ok(!error.message.includes(alice.identity), 'the secret key is not in the message');
        assert.ok(!JSON.stringify(error.details).includes(alice.identity), 'nor in the details');
        return true;
      },
    );
  });

  test('an empty list is refused: nobody could decrypt', () => {
    assert.throws(() => parseAgeRecipients([]), coded('ERR_EXPORT_001', /at least one age1… recipient/));
  });
});

describe('parseAgeIdentities', () => {
  test("reads age-keygen's file (comments included), CRLF and several keys, deduplicated", () => {
    const written = readFileSync(alice.identityFile, 'utf8');
    assert.match(written, /^# created: /);
    assert.deepEqual(parseAgeIdentities(written), [alice.identity]);
    const both = `# two keys\r\n${alice.identity}\r\n\r\n${bob.identity}\r\n${alice.identity}\r\n`;
    assert.deepEqual(parseAgeIdentities(both), [alice.identity, bob.identity]);
  });

  test('a bad line is named by number, never by content; an empty file is refused', () => {
    const broken = alice.identity.slice(0, -1) + (alice.identity.endsWith('Q') ? 'P' : 'Q');
    for (const [text, line] of [
      [`# k\n${alice.identity}\n${broken}\n`, 3],
      [`${alice.recipient}\n`, 1],
      [`\nAGE-PLUGIN-YUBIKEY-1QQQ\n`, 2],
    ] as const) {
      assert.throws(
        () => parseAgeIdentities(text),
        (error: StellaError) => {
          assert.equal(error.code, 'ERR_EXPORT_DECRYPT_IDENTITY');
          assert.match(error.message, new RegExp(`line ${line}:`));
          assert.ok(!error.message.includes(broken));
          return true;
        },
      );
    }
    assert.throws(
      () => parseAgeIdentities('# nothing\n\n'),
      coded('ERR_EXPORT_DECRYPT_IDENTITY', /no AGE-SECRET-KEY-1/),
    );
  });
});

describe('data key', () => {
  test('the record has the documented shape, sorted recipients, and differs per run', async () => {
    const { key, record } = await createDataKey([bob.recipient, alice.recipient], RUN, ['data/raw/advisories.jsonl']);
    assert.equal(key.length, 32);
    assert.equal(record.mode, 'age');
    assert.equal(record.scope, 'files');
    assert.equal(record.runId, RUN);
    assert.deepEqual(record.files, ['data/raw/advisories.jsonl']);
    assert.equal(record.aadFormat, '{runId}:{relativePath}');
    assert.equal(record.nonceFormat, '12-byte random, prefixed to each file');
    assert.deepEqual(
      record.recipients.map((r) => r.recipient),
      [alice.recipient, bob.recipient].sort(),
    );
    assert.deepEqual(Object.keys(record.recipients[0]!).sort(), ['recipient', 'wrappedKey']);
    const again = await createDataKey([alice.recipient], RUN, ['data/raw/advisories.jsonl']);
    assert.notDeepEqual(again.key, key);
  });

  test("Debian's age -d unwraps the key our code wrapped, for every recipient", async () => {
    const { key, record } = await createDataKey([alice.recipient, bob.recipient], RUN, ['data/raw/advisories.jsonl']);
    for (const pair of [alice, bob]) {
      const entry = record.recipients.find((r) => r.recipient === pair.recipient)!;
      const wrapped = file('dek.age', Buffer.from(entry.wrappedKey, 'base64'));
      const unwrapped = execFileSync('age', ['-d', '-i', pair.identityFile, wrapped]);
      assert.deepEqual(unwrapped, key);
    }
  });

  test('any one matching identity unwraps; the record survives a JSON round trip as provenance does', async () => {
    const { key, record } = await createDataKey([alice.recipient, bob.recipient], RUN, ['data/raw/advisories.jsonl']);
    const fromProvenance = JSON.parse(JSON.stringify({ environment: { encryption: record } })).environment
      .encryption as EncryptionRecord;
    assert.deepEqual(await unwrapDataKey(fromProvenance, [bob.identity]), key);
    assert.deepEqual(await unwrapDataKey(fromProvenance, [mallory.identity, alice.identity]), key);
  });

  test('a wrong identity is refused naming the recipients', async () => {
    const { record } = await createDataKey([alice.recipient], RUN, ['data/raw/advisories.jsonl']);
    await assert.rejects(
      unwrapDataKey(record, [mallory.identity]),
      coded(
        'ERR_EXPORT_DECRYPT',
        new RegExp(`no identity matches recipients ${alice.recipient}.*${mallory.recipient}`),
      ),
    );
  });

  test('an altered wrapped key or a record this build cannot read is refused', async () => {
    const { record } = await createDataKey([alice.recipient], RUN, ['data/raw/advisories.jsonl']);
    const wrapped = Buffer.from(record.recipients[0]!.wrappedKey, 'base64');
    wrapped[wrapped.length - 5]! ^= 0x01;
    const altered = { ...record, recipients: [{ recipient: alice.recipient, wrappedKey: wrapped.toString('base64') }] };
    await assert.rejects(
      unwrapDataKey(altered, [alice.identity]),
      coded('ERR_EXPORT_DECRYPT', /provenance.json was altered/),
    );
    const kms = { ...record, mode: 'aes-gcm+kms' } as unknown as EncryptionRecord;
    await assert.rejects(unwrapDataKey(kms, [alice.identity]), coded('ERR_EXPORT_DECRYPT', /mode age only \(no KMS\)/));
    const otherAad = { ...record, aadFormat: '{relativePath}' } as unknown as EncryptionRecord;
    await assert.rejects(unwrapDataKey(otherAad, [alice.identity]), coded('ERR_EXPORT_DECRYPT', /aadFormat/));
    await assert.rejects(unwrapDataKey(record, ['AGE-SECRET-KEY-1NOPE']), coded('ERR_EXPORT_DECRYPT_IDENTITY'));
  });

  test('kms:// recipients are refused before any key is made', async () => {
    await assert.rejects(
      createDataKey(['kms://export/envelope'], RUN, ['data/raw/advisories.jsonl']),
      coded('ERR_EXPORT_001', /KMS is not available/),
    );
  });
});

describe('per-file AES-256-GCM', () => {
  const runId = 'export-run::tenant-default::2026-12-04::0001';
  const key = randomBytes(32);

  test('round trips 0 bytes, 1 byte and sizes around the read chunk; layout is nonce ‖ ciphertext ‖ tag', async () => {
    for (const size of [0, 1, 1024 * 1024 - 1, 1024 * 1024, 1024 * 1024 + 17]) {
      const plaintext = randomBytes(size);
      const input = file('plain', plaintext);
      const encrypted = path('enc');
      await encryptFile(key, runId, 'data/advisories.jsonl', input, encrypted);
      const bytes = readFileSync(encrypted);
      assert.equal(bytes.length, NONCE_BYTES + size + TAG_BYTES);
      // Decrypt independently of decryptFile, from the documented layout and AAD alone.
      const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, NONCE_BYTES));
      decipher.setAAD(Buffer.from(`${runId}:data/advisories.jsonl`));
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      const independent = Buffer.concat([
        decipher.update(bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES)),
        decipher.final(),
      ]);
      assert.deepEqual(independent, plaintext);
      const output = path('dec');
      await decryptFile(key, runId, 'data/advisories.jsonl', encrypted, output);
      assert.deepEqual(readFileSync(output), plaintext);
    }
    assertNothingLeft();
  });

  test('each encryption draws a fresh nonce', async () => {
    const input = file('plain', Buffer.from('same bytes'));
    const a = path('a');
    const b = path('b');
    await encryptFile(key, runId, 'data/x', input, a);
    await encryptFile(key, runId, 'data/x', input, b);
    assert.notDeepEqual(readFileSync(a).subarray(0, NONCE_BYTES), readFileSync(b).subarray(0, NONCE_BYTES));
  });

  // Every way a file can fail to decrypt: the output is not written, and an older file there is kept.
  const failures: [string, (encrypted: string) => [Buffer, string, string]][] = [
    ['wrong key', () => [randomBytes(32), runId, 'data/a.jsonl']],
    ['file renamed (AAD path differs)', () => [key, runId, 'data/b.jsonl']],
    ['file moved to another run (AAD runId differs)', () => [key, `${runId}x`, 'data/a.jsonl']],
    ['ciphertext byte flipped', (p) => flip(p, NONCE_BYTES + 100)],
    ['tag byte flipped', (p) => flip(p, -1)],
    ['nonce byte flipped', (p) => flip(p, 0)],
    [
      'last byte cut off',
      (p) => {
        truncateSync(p, readFileSync(p).length - 1);
        return [key, runId, 'data/a.jsonl'];
      },
    ],
    [
      'a byte appended',
      (p) => {
        writeFileSync(p, Buffer.concat([readFileSync(p), Buffer.from([0])]));
        return [key, runId, 'data/a.jsonl'];
      },
    ],
  ];
  function flip(p: string, at: number): [Buffer, string, string] {
    const bytes = readFileSync(p);
    const index = at < 0 ? bytes.length + at : at;
    bytes[index]! ^= 0x80;
    writeFileSync(p, bytes);
    return [key, runId, 'data/a.jsonl'];
  }
  for (const [name, spoil] of failures) {
    test(`refused: ${name}`, async () => {
      const input = file('plain', randomBytes(3 * 1024 * 1024)); // several read chunks are written before the tag check
      const encrypted = path('enc');
      await encryptFile(key, runId, 'data/a.jsonl', input, encrypted);
      const [useKey, useRun, usePath] = spoil(encrypted);
      const fresh = path('never');
      await assert.rejects(decryptFile(useKey, useRun, usePath, encrypted, fresh), coded('ERR_EXPORT_DECRYPT'));
      assertNothingLeft(fresh);
      const existing = file('existing', Buffer.from('previous content'));
      await assert.rejects(decryptFile(useKey, useRun, usePath, encrypted, existing), coded('ERR_EXPORT_DECRYPT'));
      assert.equal(readFileSync(existing, 'utf8'), 'previous content');
    });
  }

  test('a file shorter than nonce and tag is refused as truncated', async () => {
    const stub = file('stub', randomBytes(NONCE_BYTES + TAG_BYTES - 1));
    const out = path('out');
    await assert.rejects(decryptFile(key, runId, 'data/a', stub, out), coded('ERR_EXPORT_DECRYPT', /truncated/));
    assertNothingLeft(out);
  });

  test('a bad key length or an absolute path is a programming error, not a silent success', async () => {
    const input = file('plain', Buffer.from('x'));
    await assert.rejects(encryptFile(randomBytes(16), runId, 'data/a', input, path('o')), RangeError);
    await assert.rejects(encryptFile(key, runId, '/data/a', input, path('o')), RangeError);
  });
});

describe('whole-file age (interop with Debian age)', () => {
  const plaintext = randomBytes(200 * 1024 + 3); // past age's 64 KiB chunks
  const input = file('plain', plaintext);

  test('a file from `age -r` decrypts with ours; ours decrypts with `age -d`', async () => {
    const fromDebian = path('debian.age');
    execFileSync('age', ['-r', alice.recipient, '-r', bob.recipient, '-o', fromDebian, input]);
    const out = path('out');
    await ageDecryptFile([bob.identity], fromDebian, out);
    assert.deepEqual(readFileSync(out), plaintext);

    const ours = path('ours.age');
    await ageEncryptFile([alice.recipient, bob.recipient], input, ours);
    assert.deepEqual(execFileSync('age', ['-d', '-i', alice.identityFile, ours]), plaintext);
    assert.deepEqual(execFileSync('age', ['-d', '-i', bob.identityFile, ours]), plaintext);
  });

  test('a wrong identity, a truncated or an altered file is refused and leaves no output', async () => {
    const encrypted = path('enc.age');
    await ageEncryptFile([alice.recipient], input, encrypted);
    const out = path('out');
    await assert.rejects(ageDecryptFile([mallory.identity], encrypted, out), coded('ERR_EXPORT_DECRYPT'));
    assertNothingLeft(out);

    const bytes = readFileSync(encrypted);
    const cut = file('cut.age', bytes.subarray(0, bytes.length - 100));
    await assert.rejects(ageDecryptFile([alice.identity], cut, out), coded('ERR_EXPORT_DECRYPT'));
    assertNothingLeft(out);
    // Cut exactly at a chunk boundary: without the final-chunk flag age must still refuse.
    const headerEnd = bytes.indexOf('\n', bytes.indexOf('\n---') + 1) + 1;
    const threeChunks = headerEnd + 16 + 3 * (64 * 1024 + 16); // payload nonce, then sealed 64 KiB chunks
    const atBoundary = file('boundary.age', bytes.subarray(0, threeChunks));
    await assert.rejects(ageDecryptFile([alice.identity], atBoundary, out), coded('ERR_EXPORT_DECRYPT'));
    assertNothingLeft(out);

    const altered = Buffer.from(bytes);
    altered[altered.length - 1000]! ^= 0x01;
    await assert.rejects(ageDecryptFile([alice.identity], file('alt.age', altered), out), coded('ERR_EXPORT_DECRYPT'));
    assertNothingLeft(out);
  });

  test('kms:// and malformed recipients are refused as for a profile', async () => {
    await assert.rejects(
      ageEncryptFile(['kms://x'], input, path('o')),
      coded('ERR_EXPORT_001', /KMS is not available/),
    );
    await assert.rejects(ageEncryptFile(['age1nope'], input, path('o')), coded('ERR_EXPORT_001'));
  });
});

describe('large files stream in bounded memory', () => {
  const SIZE = 64 * 1024 * 1024;
  // Streaming holds a few read chunks (~3 MiB seen); reading the file whole holds at least SIZE.
  const BOUND = 16 * 1024 * 1024;
  // A forced collection before each sample, so the figure is live Buffer memory, not garbage the
  // collector has yet to reach (without it streaming showed 12–43 MiB, too close to SIZE to tell).
  // Only this file's test process gets the flag.
  setFlagsFromString('--expose-gc');
  const collect = runInNewContext('gc') as (options: object) => void;
  // Each sample costs a few full collections; sampling more often made the age leg take minutes.
  const SAMPLE_MS = 50;

  /** Writes SIZE pseudo-random bytes in 1 MiB pieces and returns the file's sha256. */
  async function largeFile(): Promise<{ p: string; digest: string }> {
    const p = path('large');
    const hash = createHash('sha256');
    const piece = randomBytes(1024 * 1024);
    await pipeline(
      (async function* () {
        for (let i = 0; i < SIZE / piece.length; i++) {
          piece[0] = i; // no two pieces alike
          hash.update(piece);
          yield Buffer.from(piece);
        }
      })(),
      createWriteStream(p),
    );
    return { p, digest: hash.digest('hex') };
  }

  /** Peak growth of live Buffer memory (arrayBuffers) while `work` runs, sampled every `everyMs`. */
  async function peakGrowth(work: () => Promise<void>, everyMs = SAMPLE_MS): Promise<number> {
    const live = () => {
      collect({ type: 'major', execution: 'sync', flavor: 'last-resort' });
      return process.memoryUsage().arrayBuffers;
    };
    const base = live();
    let peak = base;
    const sampler = setInterval(() => {
      peak = Math.max(peak, live());
    }, everyMs);
    try {
      await work();
    } finally {
      clearInterval(sampler);
    }
    return peak - base;
  }

  test('the probe sees a whole-file read (so the bound below can fail)', async () => {
    const { p } = await largeFile();
    // What a careless encryptFile would do: read the file whole, encrypt it in one call, write it out.
    const growth = await peakGrowth(async () => {
      const cipher = createCipheriv('aes-256-gcm', KEY, randomBytes(NONCE_BYTES));
      await writeFile(path('whole.enc'), cipher.update(await readFile(p)));
    });
    assert.ok(growth > 2 * BOUND, `a whole-file read grew Buffer memory by only ${growth} bytes`);
  });

  for (const [name, encrypt, decrypt, everyMs] of [
    [
      'AES-256-GCM',
      (p: string, out: string) => encryptFile(KEY, 'run', 'data/large.bin', p, out),
      (p: string, out: string) => decryptFile(KEY, 'run', 'data/large.bin', p, out),
      SAMPLE_MS,
    ],
    [
      'age',
      (p: string, out: string) => ageEncryptFile([alice.recipient], p, out),
      (p: string, out: string) => ageDecryptFile([alice.identity], p, out),
      // age runs at ~25 MB/s in pure JS and allocates per 64 KiB chunk, so forced collections are
      // costlier there: sampling every 10–50 ms took minutes. A whole-file read would still be held
      // for seconds, well across several samples.
      500,
    ],
  ] as const) {
    test(`64 MiB through ${name}: the same sha256 back, with bounded memory both ways`, async () => {
      const { p, digest } = await largeFile();
      const encrypted = path('large.enc');
      const decrypted = path('large.dec');
      const encryptGrowth = await peakGrowth(() => encrypt(p, encrypted), everyMs);
      const decryptGrowth = await peakGrowth(() => decrypt(encrypted, decrypted), everyMs);
      assert.equal(await sha256(decrypted), digest, 'decrypted bytes differ');
      assert.ok(encryptGrowth < BOUND, `encrypt grew Buffer memory by ${encryptGrowth} bytes`);
      assert.ok(decryptGrowth < BOUND, `decrypt grew Buffer memory by ${decryptGrowth} bytes`);
    });
  }
});

const KEY = randomBytes(32);
