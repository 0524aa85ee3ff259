// SPDX-License-Identifier: Apache-2.0
// Which functions really run, from V8 itself (spec reachability §3): an in-process inspector session
// with precise coverage in binary function mode (≈3–5 % overhead; a function is reported by the first
// take after it first ran, then never again), or the opt-in "counts" profile in block-count mode
// (counts per interval, ≈10–15 %). Each take maps the new functions to the ids the static builder
// gives them: script URL → file → nearest package.json with a name and a version → module path, and
// V8's range start → the scanned function with that key → `sym:node:` id, purl and codeId. Only ids,
// digests and the package purl leave the process: no file paths, no user names.
import { createHash } from 'node:crypto';
import { readFileSync, realpathSync } from 'node:fs';
import { Session } from 'node:inspector';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createResolver,
  type FunctionEntry,
  nodeSymbolId,
  npmPurl,
  posixRelative,
  scanFile,
} from '@stella/callgraph-js/runtime';
import type { RuntimeEvent } from '../transport/batch.ts';

export type CoverageProfile = 'function' | 'counts';

export interface SamplerOptions {
  profile: CoverageProfile;
  /** Where files in no package are named from (their project path); default: the working directory. */
  projectRoot?: string;
  /** Receives each take's events (none when nothing new ran). */
  onEvents(events: RuntimeEvent[]): void;
  now?: () => Date;
}

export interface SamplerStats {
  takes: number;
  scripts: number;
  /** Functions reported by V8 that matched a scanned key and became events. */
  mapped: number;
  /** Reported functions with no scanned key (V8's synthetic initialisers, sources that changed on disk). */
  unmatched: number;
  /** Scripts skipped: node: internals, eval and `new Function` code, the observer's own modules. */
  skippedScripts: number;
}

interface ModuleInfo {
  owner: string;
  modulePath: string;
  purl: string | undefined;
  source: string;
  /** Scanned functions by key; more than one when a file starts with a function (it and the top level share 0). */
  byKey: Map<number, FunctionEntry[]>;
}

interface ScriptCoverage {
  url: string;
  functions: { functionName: string; ranges: { startOffset: number; endOffset: number; count: number }[] }[];
}

/**
 * The observer's own code and what it runs to map coverage (the scanner, acorn, @stella/core's id
 * rule): never reported as the host's. Else mapping one take's functions runs core code that the
 * next take reports, and the last take, made while the process exits, finds some that can only be
 * spooled for a later run.
 */
const OWN_DIRS = [
  dirname(dirname(realpathSync(fileURLToPath(import.meta.url)))),
  dirname(realpathSync(fileURLToPath(import.meta.resolve('@stella/callgraph-js/runtime')))),
  dirname(realpathSync(fileURLToPath(import.meta.resolve('@stella/core')))),
  dirname(realpathSync(fileURLToPath(import.meta.resolve('acorn')))),
];

export class CoverageSampler {
  private readonly session = new Session();
  private readonly options: SamplerOptions;
  private readonly resolver;
  private readonly projectRoot: string;
  private readonly modules = new Map<string, ModuleInfo | null>();
  private readonly containerId = detectContainerId();
  private readonly counters: SamplerStats = { takes: 0, scripts: 0, mapped: 0, unmatched: 0, skippedScripts: 0 };
  private started = false;

  constructor(options: SamplerOptions) {
    this.options = options;
    this.projectRoot = realpathSync(options.projectRoot ?? process.cwd());
    this.resolver = createResolver(this.projectRoot);
  }

  /** Starts precise coverage; functions compiled from now on are seen (load the observer first). */
  start(): void {
    this.session.connect();
    // The in-process session answers synchronously, so start() and take() need no event loop turn:
    // take() works inside an 'exit' listener.
    this.post('Profiler.enable');
    const counts = this.options.profile === 'counts';
    this.post('Profiler.startPreciseCoverage', { callCount: counts, detailed: counts });
    this.started = true;
  }

  /** Takes coverage now and hands the new functions to onEvents. Never throws. */
  take(): void {
    if (!this.started) return;
    try {
      const result = this.post('Profiler.takePreciseCoverage') as { result: ScriptCoverage[] } | undefined;
      this.counters.takes += 1;
      const events = this.map(result?.result ?? []);
      if (events.length > 0) this.options.onEvents(events);
    } catch {
      // A failed take loses one interval's discoveries; the next take reports them in counts mode,
      // and in binary mode V8 still holds them unreported. Never the host's problem.
    }
  }

  stop(): void {
    if (!this.started) return;
    this.started = false;
    try {
      this.post('Profiler.stopPreciseCoverage');
      this.session.disconnect();
    } catch {
      // already disconnected
    }
  }

  stats(): SamplerStats {
    return { ...this.counters };
  }

  private post(method: string, params?: Record<string, unknown>): unknown {
    let answer: unknown;
    let failure: Error | null = null;
    this.session.post(method, params ?? {}, (error, result) => {
      failure = error;
      answer = result;
    });
    if (failure) throw failure;
    return answer;
  }

  private map(scripts: ScriptCoverage[]): RuntimeEvent[] {
    const observedAt = (this.options.now?.() ?? new Date()).toISOString();
    const events: RuntimeEvent[] = [];
    for (const script of scripts) {
      const info = this.moduleOf(script.url);
      if (!info) {
        this.counters.skippedScripts += 1;
        continue;
      }
      this.counters.scripts += 1;
      for (const fn of script.functions) {
        const range = fn.ranges[0];
        if (!range || range.count === 0) continue;
        const entry = entryAt(info.byKey, range.startOffset, range.endOffset);
        if (!entry) {
          this.counters.unmatched += 1;
          continue;
        }
        this.counters.mapped += 1;
        events.push({
          symbolId: nodeSymbolId(info.owner, info.modulePath, entry.qualifiedName, entry.kind),
          ...(info.purl ? { purl: info.purl } : {}),
          codeId: `sha256:${createHash('sha256').update(info.source.slice(entry.start, entry.end)).digest('hex')}`,
          hitCount: this.options.profile === 'counts' ? range.count : 1,
          observedAt,
          processId: process.pid,
          ...(this.containerId ? { containerId: this.containerId } : {}),
        });
      }
    }
    return events;
  }

  /** The scanned module behind a script URL, or null for what is not a file of the host's. */
  private moduleOf(url: string): ModuleInfo | null {
    const cached = this.modules.get(url);
    if (cached !== undefined) return cached;
    let info: ModuleInfo | null = null;
    if (url.startsWith('file:')) {
      try {
        const file = realpathSync(fileURLToPath(url));
        if (!OWN_DIRS.some((dir) => file.startsWith(`${dir}/`))) {
          const source = readFileSync(file, 'utf8');
          const pkg = this.resolver.packageOf(file);
          const scan = scanFile(file, source);
          info = {
            owner: pkg?.name ?? posixRelative(this.projectRoot, file),
            modulePath: posixRelative(pkg?.root ?? this.projectRoot, file),
            purl: pkg ? npmPurl(pkg.name, pkg.version) : undefined,
            source,
            byKey: keyed(scan.functions),
          };
        }
      } catch {
        info = null; // unreadable or gone: nothing to name it by
      }
    }
    this.modules.set(url, info);
    return info;
  }
}

function keyed(functions: readonly FunctionEntry[]): Map<number, FunctionEntry[]> {
  const byKey = new Map<number, FunctionEntry[]>();
  for (const f of functions) {
    const list = byKey.get(f.key);
    if (list) list.push(f);
    else byKey.set(f.key, [f]);
  }
  return byKey;
}

/** The function V8 reports at [start, end): by its start, and among functions sharing it, the nearest end. */
function entryAt(byKey: Map<number, FunctionEntry[]>, start: number, end: number): FunctionEntry | undefined {
  const list = byKey.get(start);
  if (!list || list.length < 2) return list?.[0];
  let best = list[0]!;
  for (const f of list) if (Math.abs(f.end - end) < Math.abs(best.end - end)) best = f;
  return best;
}

/** The container id from the cgroup path (docker, containerd, cri-o), when the process runs in one. */
function detectContainerId(): string | undefined {
  try {
    const cgroup = readFileSync('/proc/self/cgroup', 'utf8');
    return /[0-9a-f]{64}/.exec(cgroup)?.[0];
  } catch {
    return undefined;
  }
}
