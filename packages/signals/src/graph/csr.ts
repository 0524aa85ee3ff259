// Compressed sparse row form of a callgraph: node ids in sorted order become integers, and edges are
// two integer arrays (offsets per source, targets), so a graph of millions of edges costs a few bytes
// per edge instead of an object each. This is what the reachability engine walks and what CAS keeps
// next to the canonical JSON (cas://reachability/csr/<sha256>) so a recompute loads it without parsing.
import { endianness } from 'node:os';
import type { CanonicalGraph } from './model.ts';

export const EDGE_HEURISTIC = 1;
export const EDGE_RUNTIME = 2;
const NO_PURL = 0xffffffff;
const MAGIC = Buffer.from('STCSR1\n', 'ascii');

export interface CsrGraph {
  /** Node ids, sorted; the index is the node number. */
  ids: string[];
  /** Display names ('' when absent), for matching vulnerable symbols by name. */
  names: string[];
  /** Distinct version-less purls of the nodes. */
  purls: string[];
  /** Per node, index into purls or 0xffffffff. */
  purlOf: Uint32Array;
  /** offsets[i]..offsets[i+1] are node i's out-edges in targets/flags; targets are sorted ascending. */
  offsets: Uint32Array;
  targets: Uint32Array;
  flags: Uint8Array;
  /** Entrypoint node numbers, in entrypoint order. */
  entries: Uint32Array;
}

export function versionlessPurl(purl: string): string {
  const noQualifiers = purl.split(/[?#]/)[0]!;
  const at = noQualifiers.lastIndexOf('@');
  const slash = noQualifiers.lastIndexOf('/');
  return at > slash ? noQualifiers.slice(0, at) : noQualifiers;
}

export function toCsr(graph: CanonicalGraph): CsrGraph {
  const n = graph.nodes.length;
  const index = new Map<string, number>();
  const ids = new Array<string>(n);
  const names = new Array<string>(n);
  const purlIndex = new Map<string, number>();
  const purls: string[] = [];
  const purlOf = new Uint32Array(n).fill(NO_PURL);
  for (let i = 0; i < n; i++) {
    const node = graph.nodes[i]!;
    ids[i] = node.id;
    names[i] = node.name ?? '';
    index.set(node.id, i);
    if (node.purl) {
      const p = versionlessPurl(node.purl);
      let k = purlIndex.get(p);
      if (k === undefined) {
        k = purls.length;
        purls.push(p);
        purlIndex.set(p, k);
      }
      purlOf[i] = k;
    }
  }
  const m = graph.edges.length;
  const offsets = new Uint32Array(n + 1);
  for (const e of graph.edges) offsets[index.get(e.sourceId)! + 1]!++;
  for (let i = 0; i < n; i++) offsets[i + 1]! += offsets[i]!;
  const cursor = offsets.slice(0, n);
  const targets = new Uint32Array(m);
  const flags = new Uint8Array(m);
  // Edges arrive sorted by (sourceId, targetId) and ids are sorted, so targets per row come out ascending.
  for (const e of graph.edges) {
    const s = index.get(e.sourceId)!;
    const at = cursor[s]!++;
    targets[at] = index.get(e.targetId)!;
    flags[at] = e.kind === 'heuristic' ? EDGE_HEURISTIC : e.kind === 'runtime' ? EDGE_RUNTIME : 0;
  }
  const entries = Uint32Array.from(graph.entrypoints.map((p) => index.get(p.nodeId)!));
  return { ids, names, purls, purlOf, offsets, targets, flags, entries };
}

export function nodeIndex(csr: CsrGraph): Map<string, number> {
  const map = new Map<string, number>();
  for (let i = 0; i < csr.ids.length; i++) map.set(csr.ids[i]!, i);
  return map;
}

/** Binary form: magic, then length-prefixed blocks, each padded to 4 bytes. Little-endian. */
export function encodeCsr(csr: CsrGraph): Buffer {
  const blocks: Buffer[] = [
    Buffer.from(
      JSON.stringify({ n: csr.ids.length, m: csr.targets.length, e: csr.entries.length, purls: csr.purls }),
      'utf8',
    ),
    Buffer.from(csr.ids.join('\n'), 'utf8'),
    Buffer.from(csr.names.join('\n'), 'utf8'),
    typedBytes(csr.purlOf),
    typedBytes(csr.offsets),
    typedBytes(csr.targets),
    Buffer.from(csr.flags.buffer, csr.flags.byteOffset, csr.flags.byteLength),
    typedBytes(csr.entries),
  ];
  const parts: Buffer[] = [MAGIC];
  for (const block of blocks) {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(block.length);
    parts.push(len, block, Buffer.alloc((4 - (block.length % 4)) % 4));
  }
  return Buffer.concat(parts);
}

export function decodeCsr(bytes: Buffer): CsrGraph {
  if (!bytes.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('not a stella CSR graph (bad magic)');
  let at = MAGIC.length;
  const next = (): Buffer => {
    const len = bytes.readUInt32LE(at);
    at += 4;
    const block = bytes.subarray(at, at + len);
    at += len + ((4 - (len % 4)) % 4);
    return block;
  };
  const header = JSON.parse(next().toString('utf8')) as { n: number; m: number; e: number; purls: string[] };
  const split = (b: Buffer) => (header.n === 0 ? [] : b.toString('utf8').split('\n'));
  const ids = split(next());
  const names = split(next());
  const purlOf = u32(next());
  const offsets = u32(next());
  const targets = u32(next());
  const flags = Uint8Array.from(next());
  const entries = u32(next());
  if (
    ids.length !== header.n ||
    offsets.length !== header.n + 1 ||
    targets.length !== header.m ||
    entries.length !== header.e
  ) {
    throw new Error('CSR graph is truncated or inconsistent');
  }
  return { ids, names, purls: header.purls, purlOf, offsets, targets, flags, entries };
}

const LITTLE_ENDIAN = endianness() === 'LE';

function typedBytes(a: Uint32Array): Buffer {
  if (LITTLE_ENDIAN) return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const out = Buffer.alloc(a.length * 4);
  for (let i = 0; i < a.length; i++) out.writeUInt32LE(a[i]!, i * 4);
  return out;
}

function u32(b: Buffer): Uint32Array {
  // Copying into a fresh ArrayBuffer also aligns the block, which a view into the file may not be.
  if (LITTLE_ENDIAN) return new Uint32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
  const out = new Uint32Array(b.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = b.readUInt32LE(i * 4);
  return out;
}
