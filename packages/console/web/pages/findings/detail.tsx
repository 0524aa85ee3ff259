// One finding (/console/findings/:id) as GET /findings/{id} keeps it: the component and vulnerability,
// the policy's verdict and the rule (or exception) that decided it, and the evidence it read: each
// source advisory with the range that matched, the VEX statements side by side as their issuers wrote
// them, and the reachability with its witness path.
import { useEffect, useState } from 'preact/hooks';
import { getJson } from '../../api.ts';
import { Problem } from '../../components/problem.tsx';
import { PageTitle } from '../page-title.tsx';
import { subjectPagePath } from '../reachability/paths.ts';
import { WitnessPath } from '../reachability/witness-path.tsx';
import { findingsPagePath } from './paths.ts';
import type { FindingDocument, FindingSource } from './types.ts';

export function FindingDetail({ id }: { id: string }) {
  const [finding, setFinding] = useState<FindingDocument>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    let current = true;
    getJson<FindingDocument>(`/findings/${encodeURIComponent(id)}`).then(
      (found) => current && setFinding(found),
      (caught) => current && setError(caught),
    );
    return () => {
      current = false;
    };
  }, [id]);
  if (error !== undefined)
    return (
      <>
        <PageTitle>Finding</PageTitle>
        <p>
          <a href="/console/findings">All findings</a>
        </p>
        <Problem error={error} />
      </>
    );
  if (!finding) return <p role="status">Loading the finding…</p>;
  return <FindingView finding={finding} />;
}

function FindingView({ finding }: { finding: FindingDocument }) {
  const { component, policy, reachability } = finding;
  return (
    <>
      <PageTitle>
        {finding.vulnerabilityId} in {component.name}@{component.version}
      </PageTitle>
      <p>
        <a href={findingsPagePath({ subject: finding.subjectKey })}>Findings of {finding.subjectKey}</a>
      </p>
      <section aria-labelledby="decision">
        <h2 id="decision">Policy decision</h2>
        {policy ? (
          <dl class="facts">
            <dt>Verdict</dt>
            <dd class={`verdict verdict-${policy.verdict}`}>{policy.verdict}</dd>
            <dt>Decided by</dt>
            <dd>
              {policy.exception ? 'exception ' : 'rule '}
              <code>{policy.exception ?? policy.rule}</code>
            </dd>
            {policy.expiredExceptions && policy.expiredExceptions.length > 0 && (
              <>
                <dt>Expired exceptions</dt>
                <dd>{policy.expiredExceptions.join(', ')}</dd>
              </>
            )}
            <dt>Policy snapshot</dt>
            <dd>
              <code class="hash">{finding.snapshotId}</code>
            </dd>
            <dt>Evaluated</dt>
            <dd>
              <time dateTime={finding.evaluatedAt}>{finding.evaluatedAt}</time>
            </dd>
          </dl>
        ) : (
          <p>No verdict: the tenant has no active policy snapshot.</p>
        )}
      </section>
      <section aria-labelledby="finding-facts">
        <h2 id="finding-facts">What the policy read</h2>
        <dl class="facts">
          <dt>Package</dt>
          <dd>
            <code>{component.purl}</code> ({component.ecosystem})
          </dd>
          <dt>Vulnerability</dt>
          <dd>
            {finding.vulnerabilityId}
            {finding.aliases.length > 0 && ` (also ${finding.aliases.join(', ')})`}
          </dd>
          <dt>Severity</dt>
          <dd>{finding.severity}</dd>
          <dt>Fixed in</dt>
          <dd>{finding.fixedVersions.length > 0 ? finding.fixedVersions.join(', ') : 'no fixed version given'}</dd>
          <dt>VEX status</dt>
          <dd>{finding.vexStatus}</dd>
          <dt>Reachability</dt>
          <dd>
            {reachability.state} (lattice {reachability.lattice})
          </dd>
          {policy?.kev && (
            <>
              <dt>Known exploited</dt>
              <dd>listed in CISA KEV</dd>
            </>
          )}
          {policy?.epss !== undefined && (
            <>
              <dt>EPSS</dt>
              <dd>{policy.epss}</dd>
            </>
          )}
        </dl>
      </section>
      <Sources sources={finding.sources} />
      <VexStatements finding={finding} />
      <section aria-labelledby="finding-reachability">
        <h2 id="finding-reachability">Reachability</h2>
        {reachability.fact ? (
          <p>
            From the fact version {reachability.fact.factVersion} of{' '}
            <a href={subjectPagePath(reachability.fact.subjectKey)}>{reachability.fact.subjectKey}</a> (
            <code class="hash">{reachability.fact.digest}</code>).
          </p>
        ) : (
          <p>Unknown: {reachabilityReason(reachability.reason)}</p>
        )}
        {reachability.path.length > 0 && <WitnessPath path={reachability.path} target={finding.vulnerabilityId} />}
      </section>
    </>
  );
}

function reachabilityReason(reason: string | undefined): string {
  if (reason === 'no-subject') return 'the SBOM names no subject Signals could have a fact for.';
  if (reason === 'no-fact') return 'Signals has no reachability fact for this subject yet.';
  if (reason === 'no-target') return "the subject's fact has no target for this vulnerability.";
  return 'no target in the fact decided it.';
}

/** Range bounds in reading order; the stored document has its keys sorted, which would put `fixed` first. */
const BOUND_ORDER = ['introduced', 'after', 'lastAffected', 'fixed', 'limit'];

/** A matched range as words ("ECOSYSTEM: introduced 0, fixed 0.1.10"), bounds first, then what else it names. */
function rangeText(range: FindingSource['range']): string {
  const { type, ...fields } = range;
  const rank = (name: string) => (BOUND_ORDER.includes(name) ? BOUND_ORDER.indexOf(name) : BOUND_ORDER.length);
  const parts = Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .sort(([a], [b]) => rank(a) - rank(b))
    .map(([name, value]) => `${name} ${value}`);
  return `${type ?? 'range'}: ${parts.join(', ') || 'every version'}`;
}

function Sources({ sources }: { sources: FindingSource[] }) {
  return (
    <section aria-labelledby="sources">
      <h2 id="sources">Source documents</h2>
      <div class="scroll">
        <table>
          <caption>The advisories that matched, each with the range that matched and its severity as reported</caption>
          <thead>
            <tr>
              <th scope="col">Source</th>
              <th scope="col">Matched range</th>
              <th scope="col">Severity</th>
              <th scope="col">Raw record</th>
            </tr>
          </thead>
          <tbody>
            {sources.map((s) => (
              <tr key={s.recordId}>
                <th scope="row">
                  {s.vendor} {s.upstreamId}
                </th>
                <td class="findings-wrap">{rangeText(s.range)}</td>
                <td class="findings-wrap">
                  {s.severity.length > 0 ? s.severity.map((v) => `${v.type} ${v.score}`).join('; ') : '—'}
                  {s.kev && ' · CISA KEV'}
                  {s.epss && ` · EPSS ${s.epss.score}`}
                </td>
                <td class="findings-wrap">
                  <code>{s.recordId}</code>
                  <br />
                  <code class="hash">{s.contentHash}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function VexStatements({ finding }: { finding: FindingDocument }) {
  return (
    <section aria-labelledby="vex-statements">
      <h2 id="vex-statements">VEX statements</h2>
      {finding.vex.length === 0 ? (
        <p>No VEX statement names this package and vulnerability.</p>
      ) : (
        <div class="scroll">
          <table>
            <caption>Every statement that applies, as its issuer wrote it (conflicting ones side by side)</caption>
            <thead>
              <tr>
                <th scope="col">Issuer</th>
                <th scope="col">Status</th>
                <th scope="col">Justification, impact or action</th>
                <th scope="col">Product</th>
                <th scope="col">Raw record</th>
              </tr>
            </thead>
            <tbody>
              {finding.vex.map((v) => (
                <tr key={`${v.recordId}${v.pointer}`}>
                  <th scope="row">{v.issuer}</th>
                  <td>{v.status}</td>
                  <td class="findings-wrap">
                    {[v.justification, v.impact, v.action].filter(Boolean).join(' — ') || '—'}
                    {v.timestamp && <div class="hint">{v.timestamp}</div>}
                  </td>
                  <td>
                    <code>{v.product}</code>
                  </td>
                  <td class="findings-wrap">
                    <code>{v.recordId}</code> <code>{v.pointer}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
