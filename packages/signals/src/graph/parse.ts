// Reads the four accepted callgraph inputs into one shape: stella.callgraph.v1, richgraph-v1, the
// runtime/static union NDJSON set (meta.json + nodes/edges NDJSON) and Jelly's call-graph JSON.
// Nothing here sorts or validates references; normalize.ts does that for every format alike.
import { createHash } from 'node:crypto';
import { DEFAULT_JSON_LIMITS, type JsonLimits, StellaError } from '@stella/core';
import { SignalsErrors } from '../errors.ts';
import { checkJsonAt } from '../json.ts';
import type { EdgeKind, GraphEdge, GraphEntrypoint, GraphFormat, GraphNode } from './model.ts';

export interface ParsedGraph {
  format: GraphFormat;
  metadata: { language?: string; component?: string; version?: string };
  nodes: GraphNode[];
  edges: GraphEdge[];
  entrypoints: GraphEntrypoint[];
  /** Runtime facts shipped inside a union set (facts_runtime.ndjson), symbol → hits. */
  runtimeFacts: { symbolId: string; hitCount: number }[];
}

type Json = Record<string, unknown>;

const HEURISTIC_WORDS = new Set([
  'heuristic',
  'dynamic',
  'dynamicimport',
  'reflection',
  'reflectionstring',
  'virtual',
  'virtualcall',
  'indirect',
  'unresolved',
]);

export function invalidGraph(message: string, details?: Record<string, unknown>): StellaError {
  return new StellaError(SignalsErrors.callgraphInvalid, message, details ? { details } : {});
}

/**
 * Detects the format of a request body (a graph document, a union set, or an ingest request wrapping
 * one). JSON held inside it as text (the wrapped artifact, union-set files) is checked against
 * `jsonLimits` before it is parsed.
 */
export function parseCallgraphBody(body: unknown, jsonLimits: JsonLimits = DEFAULT_JSON_LIMITS): ParsedGraph {
  return parseBody(body, jsonLimits, false);
}

function parseBody(body: unknown, jsonLimits: JsonLimits, wrapped: boolean): ParsedGraph {
  if (!isObject(body)) throw invalidGraph('callgraph body must be a JSON object');
  if (typeof body.artifactContentBase64 === 'string') {
    if (wrapped) throw invalidGraph('artifactContentBase64 must hold the graph, not another ingest request');
    const text = Buffer.from(body.artifactContentBase64, 'base64').toString('utf8');
    checkJsonAt(text, jsonLimits, 'artifactContentBase64');
    let inner: unknown;
    try {
      inner = JSON.parse(text);
    } catch (error) {
      throw invalidGraph(`artifactContentBase64 does not hold JSON: ${(error as Error).message}`);
    }
    const parsed = parseBody(inner, jsonLimits, true);
    parsed.metadata = {
      language: str(body.language) ?? parsed.metadata.language,
      component: str(body.component) ?? parsed.metadata.component,
      version: str(body.version) ?? parsed.metadata.version,
    };
    return parsed;
  }
  const schema = str(body.schema) ?? str(body.format);
  if (schema === 'stella.callgraph.v1') return parseStella(body);
  if (schema === 'richgraph-v1') return parseRichgraph(body);
  if (schema?.startsWith('union') || isObject(body.files)) return parseUnion(body, jsonLimits);
  if (Array.isArray(body.fun2fun) || (Array.isArray(body.files) && isObject(body.functions))) return parseJelly(body);
  if (Array.isArray(body.nodes) && Array.isArray(body.edges)) {
    // Unlabelled: richgraph uses roots/sourceId, stella uses entrypoints.
    return Array.isArray(body.roots) ? parseRichgraph(body) : parseStella(body);
  }
  throw invalidGraph(
    'unrecognised callgraph format: send stella.callgraph.v1 (schema), richgraph-v1, a union set {schema:"union-v0.1", meta, files} or Jelly JSON (files, functions, fun2fun)',
  );
}

function parseStella(body: Json): ParsedGraph {
  const nodes = arrayOf(body.nodes, 'nodes').map((n, i) => {
    const o = objectAt(n, `nodes[${i}]`);
    return node({
      id: requiredString(o.id, `nodes[${i}].id`),
      name: str(o.name),
      kind: str(o.kind),
      namespace: str(o.namespace),
      file: str(o.file),
      line: typeof o.line === 'number' ? o.line : undefined,
      purl: str(o.purl),
      codeId: str(o.codeId),
      symbolDigest: str(o.symbolKey),
    });
  });
  const edges = arrayOf(body.edges, 'edges').map((e, i) => {
    const o = objectAt(e, `edges[${i}]`);
    const declared = str(o.kind);
    let kind: EdgeKind = declared === 'heuristic' || declared === 'runtime' ? declared : 'static';
    if (o.isResolved === false) kind = 'heuristic';
    return edge(
      requiredString(o.sourceId, `edges[${i}].sourceId`),
      requiredString(o.targetId, `edges[${i}].targetId`),
      kind,
      str(o.reason),
      o.weight,
      `edges[${i}].weight`,
    );
  });
  if (!Array.isArray(body.entrypoints)) throw invalidGraph('entrypoints must be present (an empty array is allowed)');
  const entrypoints = body.entrypoints.map((p, i) => {
    const o = objectAt(p, `entrypoints[${i}]`);
    return entry(requiredString(o.nodeId, `entrypoints[${i}].nodeId`), str(o.kind), str(o.route), o.order, i);
  });
  // Nodes flagged as entrypoint candidates count as entrypoints only when no explicit list exists.
  const metadata = isObject(body.metadata) ? body.metadata : {};
  return {
    format: 'stella.callgraph.v1',
    metadata: { language: str(metadata.language), component: str(metadata.component), version: str(metadata.version) },
    nodes,
    edges,
    entrypoints,
    runtimeFacts: [],
  };
}

function parseRichgraph(body: Json): ParsedGraph {
  const nodes = arrayOf(body.nodes, 'nodes').map((n, i) => {
    const o = objectAt(n, `nodes[${i}]`);
    return node({
      id: requiredString(o.id, `nodes[${i}].id`),
      name: str(o.display) ?? str(o.name) ?? str(o.symbol),
      kind: str(o.kind),
      purl: str(o.purl),
      codeId: str(o.code_id) ?? str(o.codeId),
      symbolDigest: str(o.symbol_digest) ?? str(o.symbolDigest),
      file: str(o.file),
    });
  });
  const edges = arrayOf(body.edges, 'edges').map((e, i) => {
    const o = objectAt(e, `edges[${i}]`);
    const type = str(o.type) ?? str(o.kind) ?? 'call';
    const kind: EdgeKind = HEURISTIC_WORDS.has(type.toLowerCase())
      ? 'heuristic'
      : type === 'runtime'
        ? 'runtime'
        : 'static';
    return edge(
      requiredString(o.sourceId ?? o.from, `edges[${i}].sourceId`),
      requiredString(o.targetId ?? o.to, `edges[${i}].targetId`),
      kind,
      type,
      o.confidence ?? o.weight,
      `edges[${i}].confidence`,
    );
  });
  const rootsValue = body.roots ?? body.entryPoints ?? body.entrypoints;
  if (!Array.isArray(rootsValue)) throw invalidGraph('roots (entrypoints) must be present (an empty array is allowed)');
  const entrypoints = rootsValue.map((r, i) => {
    if (typeof r === 'string') return entry(r, 'root', undefined, undefined, i);
    const o = objectAt(r, `roots[${i}]`);
    return entry(
      requiredString(o.id ?? o.nodeId, `roots[${i}].id`),
      str(o.phase) ?? str(o.kind) ?? 'root',
      str(o.route),
      o.order,
      i,
    );
  });
  const artifact = isObject(body.artifact) ? body.artifact : {};
  const meta = isObject(body.meta) ? body.meta : {};
  return {
    format: 'richgraph-v1',
    metadata: {
      language: str(meta.language) ?? str(body.language),
      component: str(meta.component) ?? str(body.component) ?? str(artifact.uri),
      version: str(meta.version) ?? str(body.version),
    },
    nodes,
    edges,
    entrypoints,
    runtimeFacts: [],
  };
}

/** `{schema: "union-v0.1", meta: {...}, files: {"nodes.ndjson": text | {base64}, ...}}`. */
function parseUnion(body: Json, jsonLimits: JsonLimits): ParsedGraph {
  const files = isObject(body.files) ? body.files : undefined;
  if (!files) throw invalidGraph('a union set needs files: {"nodes.ndjson", "edges.ndjson"[, "facts_runtime.ndjson"]}');
  const meta = isObject(body.meta) ? body.meta : isObject(files['meta.json']) ? files['meta.json'] : {};
  const contents = unionContents(files);
  checkUnionMeta(meta, contents, jsonLimits);
  const nodes = ndjsonRows(contents['nodes.ndjson']!, 'nodes.ndjson', jsonLimits).map(({ value: o, line }) =>
    node({
      id: requiredString(o.symbol_id, `nodes.ndjson line ${line}: symbol_id`),
      name: str(o.display),
      kind: str(o.kind),
      purl: str(o.purl),
      codeId: str(o.code_id),
      symbolDigest: str(o.symbol_digest),
    }),
  );
  const edges = unionEdges(contents['edges.ndjson']!, jsonLimits);
  const runtimeFacts = contents['facts_runtime.ndjson']
    ? ndjsonRows(contents['facts_runtime.ndjson'], 'facts_runtime.ndjson', jsonLimits).map(({ value: o, line }) => ({
        symbolId: requiredString(o.symbol_id, `facts_runtime.ndjson line ${line}: symbol_id`),
        hitCount: Number(o.hit_count ?? 0),
      }))
    : [];
  return {
    format: 'union-v0.1',
    metadata: { language: str(meta.language), component: str(meta.component), version: str(meta.version) },
    nodes,
    edges,
    entrypoints: unionEntrypoints(meta),
    runtimeFacts,
  };
}

/** The set's NDJSON files as text (given as text or `{base64}`); nodes and edges are required. */
function unionContents(files: Json): Record<string, string> {
  const text = (name: string, required: boolean): string | undefined => {
    const v = files[name];
    if (v === undefined) {
      if (required) throw invalidGraph(`union set is missing ${name}`);
      return undefined;
    }
    if (typeof v === 'string') return v;
    if (isObject(v) && typeof v.base64 === 'string') return Buffer.from(v.base64, 'base64').toString('utf8');
    throw invalidGraph(`union file ${name} must be NDJSON text or {base64}`);
  };
  const contents: Record<string, string> = {};
  for (const name of ['nodes.ndjson', 'edges.ndjson', 'facts_runtime.ndjson']) {
    const t = text(name, name !== 'facts_runtime.ndjson');
    if (t !== undefined) contents[name] = t;
  }
  return contents;
}

/** meta.json files[] pins each file's sha256 and record count: checked before rows are read. */
function checkUnionMeta(meta: Json, contents: Record<string, string>, jsonLimits: JsonLimits): void {
  if (!Array.isArray(meta.files)) return;
  for (const f of meta.files) {
    if (!isObject(f) || typeof f.path !== 'string') continue;
    const content = contents[f.path];
    if (content === undefined) throw invalidGraph(`meta.json lists ${f.path} but the set does not contain it`);
    const digest = createHash('sha256').update(content, 'utf8').digest('hex');
    const expected = String(f.sha256 ?? '').replace(/^sha256:/, '');
    if (expected && expected !== digest) {
      throw invalidGraph(`${f.path}: sha256 ${digest} does not match meta.json (${expected})`);
    }
    if (typeof f.records === 'number' && ndjsonRows(content, f.path, jsonLimits).length !== f.records) {
      throw invalidGraph(`${f.path}: meta.json says ${f.records} records`);
    }
  }
}

function unionEdges(content: string, jsonLimits: JsonLimits) {
  return ndjsonRows(content, 'edges.ndjson', jsonLimits).map(({ value: o, line }) => {
    const type = str(o.edge_type) ?? 'call';
    const kind: EdgeKind = HEURISTIC_WORDS.has(type.toLowerCase())
      ? 'heuristic'
      : type === 'runtime'
        ? 'runtime'
        : 'static';
    return edge(
      requiredString(o.from, `edges.ndjson line ${line}: from`),
      requiredString(o.to, `edges.ndjson line ${line}: to`),
      kind,
      type,
      o.confidence,
      `edges.ndjson line ${line}: confidence`,
    );
  });
}

/** meta.json entryPoints (or entrypoints, roots): node ids, or `{id | nodeId, order}`. */
function unionEntrypoints(meta: Json) {
  const rawEntries = meta.entryPoints ?? meta.entrypoints ?? meta.roots;
  if (!Array.isArray(rawEntries)) throw invalidGraph('meta.json must list entryPoints (an empty array is allowed)');
  return rawEntries.map((r, i) =>
    typeof r === 'string'
      ? entry(r, 'root', undefined, undefined, i)
      : entry(
          requiredString(objectAt(r, `meta.entryPoints[${i}]`).id ?? (r as Json).nodeId, `meta.entryPoints[${i}].id`),
          'root',
          undefined,
          (r as Json).order,
          i,
        ),
  );
}

const JELLY_LOC_RE = /^(\d+):(\d+):(\d+):(\d+):(\d+)$/;

/** Jelly `-j` output: functions and call sites are `file:line:col:line:col` locations, edges are integer pairs. */
function parseJelly(body: Json): ParsedGraph {
  const files = arrayOf(body.files, 'files').map((f, i) => requiredString(f, `files[${i}]`));
  const functions = isObject(body.functions) ? body.functions : {};
  const idOf = new Map<string, string>();
  const nodes: GraphNode[] = [];
  for (const [index, loc] of Object.entries(functions)) {
    const match = typeof loc === 'string' ? JELLY_LOC_RE.exec(loc) : null;
    if (!match)
      throw invalidGraph(`functions[${index}]: location must be file:line:col:line:col, got ${JSON.stringify(loc)}`);
    const file = files[Number(match[1])];
    if (file === undefined) throw invalidGraph(`functions[${index}]: file index ${match[1]} is not in files`);
    const id = `js:${file}:${match[2]}:${match[3]}:${match[4]}:${match[5]}`;
    idOf.set(index, id);
    nodes.push(node({ id, kind: 'function', file, line: Number(match[2]), purl: npmPurlOf(file) }));
  }
  const edges = arrayOf(body.fun2fun ?? [], 'fun2fun').map((pair, i) => {
    if (!Array.isArray(pair) || pair.length !== 2) throw invalidGraph(`fun2fun[${i}] must be [caller, callee]`);
    const from = idOf.get(String(pair[0]));
    const to = idOf.get(String(pair[1]));
    if (!from || !to) throw invalidGraph(`fun2fun[${i}] names a function not in functions: ${JSON.stringify(pair)}`);
    return edge(from, to, 'static', 'call', 1, `fun2fun[${i}]`);
  });
  // Entrypoints: the module functions (starting at 1:1) of the entry files, or of every file Jelly analysed.
  const entryFiles = new Set(Array.isArray(body.entries) ? body.entries.map(String) : files);
  const entrypoints: GraphEntrypoint[] = [];
  for (const n of nodes) {
    if (n.file && entryFiles.has(n.file) && /:1:1:\d+:\d+$/.test(n.id) && !n.file.includes('node_modules/')) {
      entrypoints.push({ nodeId: n.id, kind: 'main', order: entrypoints.length });
    }
  }
  return { format: 'jelly', metadata: { language: 'Node' }, nodes, edges, entrypoints, runtimeFacts: [] };
}

/** `node_modules/@scope/name/...` → `pkg:npm/%40scope/name` (the last node_modules wins). */
function npmPurlOf(file: string): string | undefined {
  const at = file.lastIndexOf('node_modules/');
  if (at < 0) return undefined;
  const parts = file.slice(at + 'node_modules/'.length).split('/');
  const name = parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  if (!name) return undefined;
  return `pkg:npm/${name.replace(/^@/, '%40')}`;
}

function ndjsonRows(text: string, file: string, jsonLimits: JsonLimits): { value: Json; line: number }[] {
  const out: { value: Json; line: number }[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (!raw) continue;
    checkJsonAt(raw, jsonLimits, `${file} line ${i + 1}`);
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      throw invalidGraph(`${file} line ${i + 1} is not JSON`);
    }
    if (!isObject(value)) throw invalidGraph(`${file} line ${i + 1} must be a JSON object`);
    out.push({ value, line: i + 1 });
  }
  return out;
}

function node(n: GraphNode): GraphNode {
  const out: GraphNode = { id: n.id };
  for (const key of ['name', 'kind', 'namespace', 'file', 'purl', 'codeId', 'symbolDigest'] as const) {
    if (n[key] !== undefined && n[key] !== '') out[key] = n[key];
  }
  if (n.line !== undefined && Number.isInteger(n.line) && n.line >= 0) out.line = n.line;
  return out;
}

function edge(
  sourceId: string,
  targetId: string,
  kind: EdgeKind,
  reason: string | undefined,
  weight: unknown,
  where: string,
): GraphEdge {
  let w = 1;
  if (weight !== undefined && weight !== null) {
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0 || weight > 1) {
      throw invalidGraph(`${where} must be a number in [0, 1], got ${JSON.stringify(weight)}`);
    }
    w = weight;
  }
  const out: GraphEdge = { sourceId, targetId, kind, weight: w };
  if (reason) out.reason = reason;
  return out;
}

function entry(
  nodeId: string,
  kind: string | undefined,
  route: string | undefined,
  order: unknown,
  index: number,
): GraphEntrypoint {
  const out: GraphEntrypoint = {
    nodeId,
    kind: kind ?? 'main',
    order: typeof order === 'number' && Number.isInteger(order) ? order : index,
  };
  if (route) out.route = route;
  return out;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function arrayOf(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw invalidGraph(`${what} must be an array`);
  return value;
}

function objectAt(value: unknown, where: string): Json {
  if (!isObject(value)) throw invalidGraph(`${where} must be an object`);
  return value;
}

function requiredString(value: unknown, where: string): string {
  if (typeof value !== 'string' || value === '') throw invalidGraph(`${where} must be a non-empty string`);
  return value;
}
