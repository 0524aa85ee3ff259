// The Findings page (/console/findings): the tenant's SBOMs, and the findings of one subject filtered
// by severity, reachability and verdict with the API's own query parameters, both paged with the API's
// cursors; /console/findings/:id opens one finding's evidence and the policy's decision. The applied
// filter lives in the address, so a filtered list can be linked and reloaded.
import './findings.css';
import { useLocation, useRoute } from 'preact-iso';
import { Pager, useCursorPages } from '../../components/cursor-pages.tsx';
import { Problem } from '../../components/problem.tsx';
import { useDraft } from '../../drafts.ts';
import { PageTitle } from '../page-title.tsx';
import { FindingDetail } from './detail.tsx';
import { type Filter, findingPagePath, findingsPagePath, NO_FILTER } from './paths.ts';
import type { SbomRecord, StoredFinding } from './types.ts';

const PAGE_SIZE = 25;

/** The filters GET /findings takes, with the values its schema allows. */
const FILTERS = {
  severity: ['critical', 'high', 'medium', 'low', 'none', 'unknown'],
  reachability: ['reachable', 'unreachable', 'unknown'],
  verdict: ['pass', 'warn', 'fail'],
} as const;

export function Findings() {
  const { params } = useRoute();
  return params.id ? <FindingDetail key={params.id} id={params.id} /> : <FindingsLists />;
}

function FindingsLists() {
  const { query } = useLocation();
  const applied: Filter = {
    subject: query.subject ?? '',
    severity: query.severity ?? '',
    reachability: query.reachability ?? '',
    verdict: query.verdict ?? '',
  };
  return (
    <>
      <PageTitle>Findings</PageTitle>
      <p class="hint">
        Each subject's findings come from its latest SBOM, matched against the advisories, joined with VEX and
        reachability, and judged by the active policy snapshot.
      </p>
      <Sboms subject={applied.subject} />
      <FindingsSection key={findingsPagePath(applied)} applied={applied} />
    </>
  );
}

function Sboms({ subject }: { subject: string }) {
  const pages = useCursorPages<SbomRecord>(`/sboms?limit=${PAGE_SIZE}`);
  return (
    <section aria-labelledby="sboms">
      <h2 id="sboms">SBOMs</h2>
      {pages.error !== undefined && <Problem error={pages.error} />}
      <Pager label="SBOM pages" pages={pages} />
      {pages.page?.items.length === 0 && <p>No SBOM is stored yet.</p>}
      {pages.page && pages.page.items.length > 0 && (
        <div class="scroll">
          <table>
            <caption>SBOMs, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Subject</th>
                <th scope="col">Root component</th>
                <th scope="col">Format</th>
                <th scope="col">Components</th>
                <th scope="col">Ingested</th>
              </tr>
            </thead>
            <tbody>
              {pages.page.items.map((sbom) => (
                <tr key={sbom.id} class={sbom.subjectKey === subject ? 'findings-chosen' : undefined}>
                  <th scope="row">
                    <a
                      href={findingsPagePath({ subject: sbom.subjectKey })}
                      aria-current={sbom.subjectKey === subject ? 'true' : undefined}
                      aria-label={`Findings of ${sbom.subjectKey}`}
                    >
                      {sbom.subjectKey}
                    </a>
                  </th>
                  <td>{sbom.root ? `${sbom.root.name}${sbom.root.version ? `@${sbom.root.version}` : ''}` : '—'}</td>
                  <td>
                    {sbom.format} {sbom.specVersion}
                  </td>
                  <td>{sbom.components}</td>
                  <td>
                    <time dateTime={sbom.ingestedAt}>{sbom.ingestedAt}</time>
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

function FindingsSection({ applied }: { applied: Filter }) {
  const { route } = useLocation();
  // Typed but not applied, the form survives a sign-in redirect.
  const [draft, setDraft] = useDraft<Filter>('findings-filter', applied);
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (applied.subject) query.set('subject', applied.subject);
  for (const name of ['severity', 'reachability', 'verdict'] as const)
    if (applied[name]) query.set(name, applied[name]);
  const pages = useCursorPages<StoredFinding>(`/findings?${query}`);
  const apply = (event: Event) => {
    event.preventDefault();
    route(findingsPagePath({ ...draft, subject: draft.subject.trim().toLowerCase() }));
  };
  const filtered = Object.values(applied).some(Boolean);
  return (
    <section aria-labelledby="findings">
      <h2 id="findings">{applied.subject ? `Findings of ${applied.subject}` : 'Findings of every subject'}</h2>
      <form class="filters" onSubmit={apply} aria-label="Filter findings">
        <label>
          Subject key
          <input
            name="subject"
            value={draft.subject}
            maxLength={1024}
            onInput={(e) => setDraft({ ...draft, subject: e.currentTarget.value })}
          />
        </label>
        {(Object.keys(FILTERS) as (keyof typeof FILTERS)[]).map((name) => (
          <label key={name}>
            {name[0]!.toUpperCase() + name.slice(1)}
            <select
              name={name}
              class="findings-select"
              value={draft[name]}
              onChange={(e) => setDraft({ ...draft, [name]: e.currentTarget.value })}
            >
              <option value="">any</option>
              {FILTERS[name].map((value) => (
                <option key={value} value={value}>
                  {value}
                </option>
              ))}
            </select>
          </label>
        ))}
        <button type="submit">Apply filter</button>
        {filtered && (
          <button type="button" class="secondary" onClick={() => route(findingsPagePath(NO_FILTER))}>
            Clear filter
          </button>
        )}
      </form>
      {pages.error !== undefined && <Problem error={pages.error} />}
      <Pager label="Finding pages" pages={pages} />
      {pages.page?.items.length === 0 && <p>No findings{filtered ? ' match this filter' : ''}.</p>}
      {pages.page && pages.page.items.length > 0 && (
        <div class="scroll">
          <table>
            <caption>Findings in id order</caption>
            <thead>
              <tr>
                <th scope="col">Vulnerability</th>
                <th scope="col">Package</th>
                <th scope="col">Severity</th>
                <th scope="col">Reachability</th>
                <th scope="col">VEX</th>
                <th scope="col">Verdict</th>
                <th scope="col">Rule</th>
              </tr>
            </thead>
            <tbody>
              {pages.page.items.map((f) => (
                <tr key={f.id}>
                  <th scope="row">
                    <a href={findingPagePath(f.id)}>{f.vulnerabilityId}</a>
                  </th>
                  <td>
                    <code>{f.purl}</code>
                  </td>
                  <td>{f.severity}</td>
                  <td>{f.reachability}</td>
                  <td>{f.vexStatus}</td>
                  <td class={f.verdict ? `verdict verdict-${f.verdict}` : undefined}>{f.verdict ?? 'no policy'}</td>
                  <td>{f.rule ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
