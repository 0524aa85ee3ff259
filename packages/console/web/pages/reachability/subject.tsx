// One subject's reachability (/console/reachability/:subject): its fact's targets with lattice state,
// bucket and score, the witness path of the chosen target drawn with its runtime hits, the unknowns
// with their reasons, and the VEX the fact gives (GET /signals/facts/{subjectKey}/vex).
import { useState } from 'preact/hooks';
import { Problem } from '../../components/problem.tsx';
import { useJson } from '../../components/use-json.ts';
import { PageTitle } from '../page-title.tsx';
import type { Fact, OpenVex, PendingFact, TargetState, Unknown } from './types.ts';
import { WitnessPath } from './witness-path.tsx';

type VexFormat = 'openvex' | 'cyclonedx';

const totalHits = (state: TargetState) => state.evidence.runtimeHits.reduce((n, h) => n + h.hitCount, 0);

export function SubjectDetail({ subjectKey }: { subjectKey: string }) {
  const encoded = encodeURIComponent(subjectKey);
  const fact = useJson<Fact | PendingFact>(`/signals/facts/${encoded}`, false);
  const unknowns = useJson<{ unknowns: Unknown[] }>(`/signals/unknowns/${encoded}`, false);
  return (
    <>
      <PageTitle>
        Reachability of <span class="reach-key">{subjectKey}</span>
      </PageTitle>
      <p>
        <a href="/console/reachability">All subjects</a>
      </p>
      {fact.loading && !fact.data && <p role="status">Loading the fact…</p>}
      {fact.error !== undefined && <Problem error={fact.error} />}
      {fact.data?.status === 'pending' && <Pending pending={fact.data} />}
      {fact.data && fact.data.status !== 'pending' && <FactView fact={fact.data} />}
      <section aria-labelledby="unknowns">
        <h2 id="unknowns">Unknowns</h2>
        {unknowns.error !== undefined && <Problem error={unknowns.error} />}
        {unknowns.data && <Unknowns unknowns={unknowns.data.unknowns} />}
      </section>
      {fact.data && fact.data.status !== 'pending' && <VexSection subjectKey={subjectKey} />}
    </>
  );
}

function Pending({ pending }: { pending: PendingFact }) {
  return (
    <p class="status" role="status">
      {pending.waitingFor === 'callgraph'
        ? `The runtime facts of this subject wait for their call graph (${pending.graphHash ?? 'unknown hash'}) to be ingested`
        : 'A recompute of this subject is queued or running'}
      , since <time dateTime={pending.since}>{pending.since}</time>. Reload in {pending.retryAfterSeconds} s.
    </p>
  );
}

function FactView({ fact }: { fact: Fact }) {
  const withPath = fact.states.filter((s) => s.path.length > 0);
  const [chosen, setChosen] = useState<string | undefined>(withPath[0]?.target);
  const shown = fact.states.find((s) => s.target === chosen);
  return (
    <>
      <dl class="facts">
        <dt>Fact version</dt>
        <dd>{fact.fact_version}</dd>
        <dt>Score</dt>
        <dd>{fact.score}</dd>
        <dt>Computed</dt>
        <dd>
          <time dateTime={fact.computedAt}>{fact.computedAt}</time>
        </dd>
        <dt>Digest</dt>
        <dd>
          <code class="hash">{fact.digest}</code>
        </dd>
        <dt>Call graph</dt>
        <dd>
          <code class="hash">{fact.graphHash ?? 'none'}</code>
        </dd>
        <dt>Runtime</dt>
        <dd>
          {fact.runtimeFacts.totalHits} hits on {fact.runtimeFacts.symbols} symbols
          {fact.runtimeFacts.lastSeen ? `, last seen ${fact.runtimeFacts.lastSeen}` : ''}
        </dd>
        <dt>Targets from</dt>
        <dd>{fact.provenance.targetsSource}</dd>
      </dl>
      <section aria-labelledby="targets">
        <h2 id="targets">Targets</h2>
        {fact.states.length === 0 ? (
          <p>The fact has no targets.</p>
        ) : (
          <div class="scroll">
            <table class="reach-targets">
              <caption>Each target's lattice state, bucket and score</caption>
              <thead>
                <tr>
                  <th scope="col">Target</th>
                  <th scope="col">Advisory</th>
                  <th scope="col">Lattice state</th>
                  <th scope="col">Bucket</th>
                  <th scope="col">Score</th>
                  <th scope="col">Confidence</th>
                  <th scope="col">Runtime hits</th>
                  <th scope="col">Witness path</th>
                </tr>
              </thead>
              <tbody>
                {fact.states.map((s) => (
                  <tr key={s.target} class={s.target === chosen ? 'reach-chosen' : undefined}>
                    <th scope="row">
                      <code>{s.target}</code>
                      {s.package && <div class="hint">{s.package}</div>}
                    </th>
                    <td>{s.advisoryId ?? '—'}</td>
                    <td>{s.state}</td>
                    <td>{s.bucket}</td>
                    <td>{s.score}</td>
                    <td>{s.confidence}</td>
                    <td>{totalHits(s)}</td>
                    <td>
                      {s.path.length > 0 ? (
                        <button
                          type="button"
                          aria-pressed={s.target === chosen}
                          aria-label={`Show the witness path to ${s.target}`}
                          onClick={() => setChosen(s.target)}
                        >
                          Show path
                        </button>
                      ) : (
                        (s.unknownReason ?? 'no path')
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section aria-labelledby="witness">
        <h2 id="witness">Witness path</h2>
        {shown ? (
          <>
            <p class="hint">
              {shown.target}
              {shown.advisoryId ? ` (${shown.advisoryId})` : ''}: {shown.state}, bucket {shown.bucket}. A shortest call
              path from an entrypoint; functions observed at runtime are marked.
            </p>
            <WitnessPath
              path={shown.path}
              target={shown.target}
              runtimeHits={new Map(shown.evidence.runtimeHits.map((h) => [h.symbolId, h.hitCount]))}
            />
          </>
        ) : (
          <p>No target of this fact is reachable, so there is no witness path.</p>
        )}
      </section>
    </>
  );
}

function Unknowns({ unknowns }: { unknowns: Unknown[] }) {
  if (unknowns.length === 0) return <p>None: every target was decided.</p>;
  return (
    <div class="scroll">
      <table>
        <caption>Symbols the engine could not place, and those producers reported</caption>
        <thead>
          <tr>
            <th scope="col">Symbol</th>
            <th scope="col">Reason</th>
            <th scope="col">Origin</th>
            <th scope="col">Advisory</th>
          </tr>
        </thead>
        <tbody>
          {unknowns.map((u) => (
            <tr key={`${u.origin}:${u.symbolId}:${u.reason}`}>
              <th scope="row">
                <code>{u.symbolId}</code>
              </th>
              <td>{u.reason}</td>
              <td>{u.origin}</td>
              <td>{u.advisoryId ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function VexSection({ subjectKey }: { subjectKey: string }) {
  const [format, setFormat] = useState<VexFormat>('openvex');
  const vex = useJson<Record<string, unknown>>(
    `/signals/facts/${encodeURIComponent(subjectKey)}/vex?format=${format}`,
    false,
  );
  const statements = format === 'openvex' ? (vex.data as OpenVex | undefined)?.statements : undefined;
  return (
    <section aria-labelledby="vex">
      <h2 id="vex">VEX this fact gives</h2>
      <label class="reach-format">
        Format
        <select value={format} onChange={(e) => setFormat(e.currentTarget.value as VexFormat)}>
          <option value="openvex">OpenVEX 0.2.0</option>
          <option value="cyclonedx">CycloneDX 1.6</option>
        </select>
      </label>
      {vex.error !== undefined && <Problem error={vex.error} />}
      {statements && (
        <div class="scroll">
          <table>
            <caption>Statements</caption>
            <thead>
              <tr>
                <th scope="col">Vulnerability</th>
                <th scope="col">Status</th>
                <th scope="col">Justification or action</th>
              </tr>
            </thead>
            <tbody>
              {statements.map((s) => (
                <tr key={s.vulnerability.name}>
                  <th scope="row">{s.vulnerability.name}</th>
                  <td>{s.status}</td>
                  <td class="reach-wrap">{s.justification ?? s.action_statement ?? s.status_notes ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {vex.data && (
        <details>
          <summary>The document</summary>
          <pre>{JSON.stringify(vex.data, null, 2)}</pre>
        </details>
      )}
    </section>
  );
}
