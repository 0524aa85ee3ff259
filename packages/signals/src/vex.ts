// VEX out of a reachability fact: OpenVEX 0.2.0 or CycloneDX 1.6. Per vulnerability (advisory, or the
// target symbol when none is known): any reachable target → affected/exploitable with the witness
// path as evidence; every target proven unreachable → not_affected with
// vulnerable_code_not_in_execute_path / code_not_reachable; otherwise under_investigation/in_triage.
// "Not observed at runtime" alone never yields not_affected, and a package-level target (precision
// package: the symbols were not found, the package's bundled code stood in) reached proves only that
// the package is, so it never yields affected. Output is a function of the fact only.
import { STELLA_VERSION, sha256Hex } from '@stella/core';
import type { TargetState } from './engine/reachability.ts';

export type VexFormat = 'openvex' | 'cyclonedx';

interface FactForVex {
  subjectKey: string;
  subject?: Record<string, string>;
  states: TargetState[];
  factVersion: number;
  digest: string;
  computedAt: string;
}

type Verdict = 'affected' | 'not_affected' | 'under_investigation';

interface Group {
  vulnerability: string;
  package: string | undefined;
  verdict: Verdict;
  states: TargetState[];
  witness: TargetState | undefined;
}

const REACHABLE = new Set(['StaticallyReachable', 'RuntimeObserved', 'ConfirmedReachable']);
const UNREACHABLE = new Set(['StaticallyUnreachable', 'ConfirmedUnreachable']);

function groups(states: readonly TargetState[]): Group[] {
  const byVuln = new Map<string, TargetState[]>();
  for (const s of states) {
    const key = s.advisoryId ?? s.target;
    const list = byVuln.get(key);
    if (list) list.push(s);
    else byVuln.set(key, [s]);
  }
  return [...byVuln.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([vulnerability, list]) => {
      const reachable = list.filter((s) => REACHABLE.has(s.state) && s.precision !== 'package');
      const verdict: Verdict = reachable.length
        ? 'affected'
        : list.every((s) => UNREACHABLE.has(s.state))
          ? 'not_affected'
          : 'under_investigation';
      // The witness: the shortest path among reachable targets, then by target id.
      const witness = [...reachable].sort((a, b) => a.path.length - b.path.length || (a.target < b.target ? -1 : 1))[0];
      return { vulnerability, package: list.find((s) => s.package)?.package, verdict, states: list, witness };
    });
}

function productId(fact: FactForVex): string {
  const s = fact.subject ?? {};
  if (s.component && s.version)
    return `pkg:generic/${encodeURIComponent(s.component)}@${encodeURIComponent(s.version)}`;
  if (s.imageDigest) return `urn:stella:image:${s.imageDigest}`;
  return `urn:stella:subject:${encodeURIComponent(fact.subjectKey)}`;
}

function notes(group: Group): string {
  const parts = group.states.map((s) => {
    const reason = s.unknownReason ? ` (${s.unknownReason})` : '';
    const precision = s.precision ? `, precision ${s.precision}` : '';
    return `${s.target}: ${s.state}, bucket ${s.bucket}${reason}${precision}`;
  });
  if (group.witness) parts.push(`witness path (sink first): ${group.witness.path.join(' <- ')}`);
  return parts.join('; ');
}

export function toOpenVex(fact: FactForVex): Record<string, unknown> {
  const product = productId(fact);
  const statements = groups(fact.states).map((g) => {
    const statement: Record<string, unknown> = {
      vulnerability: { name: g.vulnerability },
      products: [
        {
          '@id': product,
          ...(g.package ? { subcomponents: [{ '@id': g.package }] } : {}),
        },
      ],
      status: g.verdict,
      status_notes: notes(g),
      timestamp: fact.computedAt,
    };
    if (g.verdict === 'not_affected') {
      statement.justification = 'vulnerable_code_not_in_execute_path';
      statement.impact_statement = 'No call path from any entrypoint reaches the vulnerable code.';
    }
    if (g.verdict === 'affected') {
      const hits = g.witness?.evidence.runtimeHits.reduce((n, h) => n + h.hitCount, 0) ?? 0;
      statement.action_statement = `Upgrade or remove ${g.package ?? 'the affected package'}: the vulnerable code is reachable${
        hits ? ` and ran ${hits} times` : ''
      } (witness path: ${g.witness?.path.join(' <- ') ?? 'runtime observation'}).`;
    }
    return statement;
  });
  return {
    '@context': 'https://openvex.dev/ns/v0.2.0',
    '@id': `https://stella.local/vex/signals/${fact.digest.replace('sha256:', '')}`,
    author: 'stella signals',
    timestamp: fact.computedAt,
    version: fact.factVersion,
    tooling: 'stella signals reachability (stella.reachability/1)',
    statements,
  };
}

function uuidFrom(digest: string): string {
  const h = sha256Hex(digest);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((Number.parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function moduleOf(symbol: string, pkg: string | undefined): string {
  if (pkg) return pkg;
  const cut = Math.max(symbol.lastIndexOf(':'), symbol.lastIndexOf('#'), symbol.lastIndexOf('.'));
  return cut > 0 ? symbol.slice(0, cut) : symbol;
}

export function toCycloneDx(fact: FactForVex): Record<string, unknown> {
  const subject = fact.subject ?? {};
  const all = groups(fact.states);
  const components = all.map((g, i) => {
    const component: Record<string, unknown> = {
      type: 'library',
      'bom-ref': `component-${i + 1}`,
      name: g.package ?? g.vulnerability,
      ...(g.package?.startsWith('pkg:') ? { purl: g.package } : {}),
    };
    if (g.witness && g.witness.path.length > 0) {
      component.evidence = {
        callstack: {
          frames: g.witness.path.map((symbol) => ({ module: moduleOf(symbol, g.package), function: symbol })),
        },
        identity: [
          {
            field: 'name',
            confidence: g.witness.confidence,
            methods: [
              {
                technique: g.witness.evidence.runtimeHits.length ? 'instrumentation' : 'source-code-analysis',
                confidence: g.witness.confidence,
              },
            ],
          },
        ],
      };
    }
    return component;
  });
  const vulnerabilities = all.map((g, i) => ({
    'bom-ref': `vulnerability-${i + 1}`,
    id: g.vulnerability,
    analysis: {
      state: g.verdict === 'affected' ? 'exploitable' : g.verdict === 'not_affected' ? 'not_affected' : 'in_triage',
      ...(g.verdict === 'not_affected' ? { justification: 'code_not_reachable' } : {}),
      detail: notes(g),
      lastUpdated: fact.computedAt,
    },
    affects: [{ ref: `component-${i + 1}` }],
  }));
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: `urn:uuid:${uuidFrom(fact.digest)}`,
    version: fact.factVersion,
    metadata: {
      timestamp: fact.computedAt,
      tools: { components: [{ type: 'application', name: 'stella-signals', version: STELLA_VERSION }] },
      component: {
        type: 'application',
        'bom-ref': 'subject',
        name: subject.component ?? subject.imageDigest ?? subject.scanId ?? fact.subjectKey,
        ...(subject.version ? { version: subject.version } : {}),
      },
    },
    components,
    vulnerabilities,
  };
}
