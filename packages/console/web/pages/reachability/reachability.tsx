// The Reachability page (/console/reachability): the tenant's subjects with a fact, paged with the
// API's cursor; /console/reachability/:subject opens one subject's targets, witness paths, unknowns
// and VEX. Everything shown is what Signals computed; the page only lays it out.
import './reachability.css';
import { useLocation, useRoute } from 'preact-iso';
import { Pager, useCursorPages } from '../../components/cursor-pages.tsx';
import { Problem } from '../../components/problem.tsx';
import { useDraft } from '../../drafts.ts';
import { PageTitle } from '../page-title.tsx';
import { subjectPagePath } from './paths.ts';
import { SubjectDetail } from './subject.tsx';
import type { FactSummary } from './types.ts';

const PAGE_SIZE = 25;

export function Reachability() {
  const { params } = useRoute();
  return params.subject ? <SubjectDetail key={params.subject} subjectKey={params.subject} /> : <Subjects />;
}

function Subjects() {
  const { route } = useLocation();
  const pages = useCursorPages<FactSummary>(`/signals/facts?limit=${PAGE_SIZE}`);
  const [draft, setDraft] = useDraft('reachability-subject', '');

  // A subject whose first fact is still pending is not listed; it can still be opened by its key.
  const open = (event: Event) => {
    event.preventDefault();
    if (draft.trim()) route(subjectPagePath(draft.trim().toLowerCase()));
  };
  return (
    <>
      <PageTitle>Reachability</PageTitle>
      <p class="hint">
        Subjects with a reachability fact, in subject-key order. Open one for its targets, witness paths, unknowns and
        the VEX its fact gives.
      </p>
      <form class="filters" onSubmit={open}>
        <label>
          Subject key
          <input
            name="subject"
            value={draft}
            maxLength={512}
            placeholder="component|version, scan id or image digest"
            onInput={(e) => setDraft(e.currentTarget.value)}
          />
        </label>
        <button type="submit">Open subject</button>
      </form>
      {pages.error !== undefined && <Problem error={pages.error} />}
      <Pager label="Subject pages" pages={pages} />
      {pages.page?.items.length === 0 && <p>No subject has a reachability fact yet.</p>}
      {pages.page && pages.page.items.length > 0 && (
        <div class="scroll">
          <table>
            <caption>Subjects on this page</caption>
            <thead>
              <tr>
                <th scope="col">Subject</th>
                <th scope="col">Targets</th>
                <th scope="col">Reachable</th>
                <th scope="col">Unknowns</th>
                <th scope="col">Score</th>
                <th scope="col">Fact version</th>
                <th scope="col">Computed</th>
              </tr>
            </thead>
            <tbody>
              {pages.page.items.map((s) => (
                <tr key={s.subjectKey}>
                  <th scope="row">
                    <a href={subjectPagePath(s.subjectKey)}>{s.subjectKey}</a>
                  </th>
                  <td>{s.targets}</td>
                  <td>{s.reachableTargets}</td>
                  <td>{s.unknownsCount}</td>
                  <td>{s.score}</td>
                  <td>{s.factVersion}</td>
                  <td>
                    <time dateTime={s.computedAt}>{s.computedAt}</time>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
