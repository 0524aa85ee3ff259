// SPDX-License-Identifier: Apache-2.0
// TrivyDbBuilder: AOC head records in, the root bucket of trivy.db out (docs/trivy.md). add() projects
// one record and files only its small pieces (constraint strings, reduced details), never the raw
// document, so half a million records stay affordable. tree() merges what several records said about
// one (bucket, package, vulnerability id): contributions in record-id order, lists united in that order,
// OS fixed versions reduced to "unfixed if any record says unfixed, else the highest fixed version"
// (a package is never called fixed earlier than some upstream says). The result does not depend on the
// order of add() calls. The `vulnerability` bucket is always present and holds exactly the ids some
// advisory entry uses; NVD / CVE 5 details of other ids are dropped, as trivy-db ships only referenced ids.
import { type BoltBucket, boltBucket } from '../bolt/index.ts';
import { advisoryJson, dataSourceJson, vulnerabilityJson } from './json.ts';
import { projectRecord } from './osv.ts';
import { orderOf } from './ranges.ts';
import type { AdvisoryPart, DataSource, Detail, TrivyBuildStats, TrivyRecord, TrivySkip } from './types.ts';
import { foldDetails, normaliseVulnerability } from './vulnerability.ts';

/** Advisory status indices trivy-db stores (types.Status). */
const STATUS_AFFECTED = 2;

interface Contribution<T> {
  recordId: string;
  part: T;
}

const byRecord = <T>(a: Contribution<T>, b: Contribution<T>) =>
  a.recordId < b.recordId ? -1 : a.recordId > b.recordId ? 1 : 0;

function getOrMake<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

const united = (lists: string[][]) => [...new Set(lists.flat())];

/** The merged Advisory value of one (bucket, package, vulnerability id). */
function mergeAdvisory(parts: AdvisoryPart[]): Buffer {
  const vendorIds = united(parts.map((p) => p.vendorIds)).sort();
  const first = parts[0] as AdvisoryPart;
  if (parts.some((p) => p.fixed !== undefined || p.unfixed)) {
    if (parts.some((p) => p.unfixed)) return advisoryJson({ VendorIDs: vendorIds, Status: STATUS_AFFECTED });
    const fixed = [...new Set(parts.map((p) => p.fixed as string))];
    const order = orderOf(first.ecosystem);
    const highest = order ? order.sort(fixed, { descending: true })[0] : fixed.sort().at(-1);
    return advisoryJson({ VendorIDs: vendorIds, FixedVersion: highest });
  }
  return advisoryJson({
    VendorIDs: vendorIds,
    VulnerableVersions: united(parts.map((p) => p.vulnerable)),
    PatchedVersions: united(parts.map((p) => p.patched)),
  });
}

export class TrivyDbBuilder {
  private records = 0;
  private readonly skips: TrivySkip[] = [];
  /** bucket → package → vulnerability id → contributions. */
  private readonly advisories = new Map<string, Map<string, Map<string, Contribution<AdvisoryPart>[]>>>();
  /**
   * vulnerability id → source id → contributions, each detail packed as UTF-8 JSON: NVD alone brings
   * ~250,000 CVEs of which only the referenced ones are shipped, so the unused ones should cost bytes,
   * not object graphs.
   */
  private readonly details = new Map<string, Map<string, Contribution<Buffer>[]>>();
  private readonly dataSources = new Map<string, DataSource>();

  add(record: TrivyRecord): void {
    this.records++;
    const projection = projectRecord(record);
    for (const skip of projection.skips) {
      this.skips.push({ recordId: record.recordId, upstreamId: record.upstreamId, ...skip });
    }
    for (const part of projection.advisories) {
      const packages = getOrMake(
        this.advisories,
        part.bucket,
        () => new Map<string, Map<string, Contribution<AdvisoryPart>[]>>(),
      );
      const ids = getOrMake(packages, part.pkg, () => new Map<string, Contribution<AdvisoryPart>[]>());
      getOrMake(ids, part.vulnId, (): Contribution<AdvisoryPart>[] => []).push({ recordId: record.recordId, part });
    }
    for (const { bucket, source } of projection.dataSources)
      if (!this.dataSources.has(bucket)) this.dataSources.set(bucket, source);
    for (const { vulnId, sourceId, detail } of projection.details) {
      const sources = getOrMake(this.details, vulnId, () => new Map<string, Contribution<Buffer>[]>());
      const packed = Buffer.from(JSON.stringify(detail), 'utf8');
      getOrMake(sources, sourceId, (): Contribution<Buffer>[] => []).push({ recordId: record.recordId, part: packed });
    }
  }

  stats(): TrivyBuildStats {
    let advisories = 0;
    const used = new Set<string>();
    for (const packages of this.advisories.values()) {
      for (const ids of packages.values()) {
        advisories += ids.size;
        for (const id of ids.keys()) used.add(id);
      }
    }
    const skipped = [...this.skips].sort(
      (a, b) => cmp(a.recordId, b.recordId) || cmp(a.detail, b.detail) || cmp(a.reason, b.reason),
    );
    return { records: this.records, advisories, vulnerabilities: used.size, buckets: this.advisories.size, skipped };
  }

  /** The root bucket of trivy.db: every advisory bucket, `data-source` and `vulnerability` (always). */
  tree(): BoltBucket {
    const steps = this.treeSteps();
    for (let step = steps.next(); ; step = steps.next()) if (step.done) return step.value;
  }

  /**
   * The same tree, built while letting the event loop run every few milliseconds: merging 200,000
   * entries takes seconds, and an export shares its process with the API and the health checks.
   */
  async treeAsync(sliceMs = 20): Promise<BoltBucket> {
    const steps = this.treeSteps();
    let sliceStart = performance.now();
    for (let step = steps.next(); ; step = steps.next()) {
      if (step.done) return step.value;
      if (performance.now() - sliceStart > sliceMs) {
        await new Promise((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
      }
    }
  }

  /** Builds the tree, yielding after each package and each vulnerability id (where a caller may pause). */
  private *treeSteps(): Generator<void, BoltBucket> {
    const root = boltBucket();
    const used = new Set<string>();
    for (const [bucketName, packages] of this.advisories) {
      const bucket = boltBucket();
      for (const [pkg, ids] of packages) {
        const pkgBucket = boltBucket();
        for (const [vulnId, contributions] of ids) {
          used.add(vulnId);
          pkgBucket.entries.set(vulnId, mergeAdvisory([...contributions].sort(byRecord).map((c) => c.part)));
        }
        bucket.entries.set(pkg, pkgBucket);
        yield;
      }
      root.entries.set(bucketName, bucket);
    }
    const dataSource = boltBucket();
    for (const [bucketName, source] of this.dataSources) dataSource.entries.set(bucketName, dataSourceJson(source));
    root.entries.set('data-source', dataSource);
    const vulnerability = boltBucket();
    for (const vulnId of used) {
      const sources = new Map<string, Detail>();
      for (const [sourceId, contributions] of this.details.get(vulnId) ?? []) {
        const unpacked = [...contributions].sort(byRecord).map((c) => JSON.parse(c.part.toString('utf8')) as Detail);
        sources.set(sourceId, foldDetails(unpacked));
      }
      vulnerability.entries.set(vulnId, vulnerabilityJson(normaliseVulnerability(vulnId, sources)));
      yield;
    }
    root.entries.set('vulnerability', vulnerability);
    return root;
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
