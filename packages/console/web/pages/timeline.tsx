// The tenant timeline, oldest first, one page at a time with the API's cursor, each event with the
// hash that chains it to the one before, and the server's check of the whole chain
// (GET /api/v1/timeline/verify); `stella timeline verify` checks it without trusting the server.
import { useState } from 'preact/hooks';
import { getJson } from '../api.ts';
import { Pager, useCursorPages } from '../components/cursor-pages.tsx';
import { Problem } from '../components/problem.tsx';
import { useDraft } from '../drafts.ts';
import { PageTitle } from './page-title.tsx';

const PAGE_SIZE = 25;

/** The wire shape of GET /api/v1/timeline/events (packages/platform/src/timeline/wire.ts). */
interface TimelineEvent {
  event_id: string;
  seq: number;
  timestamp: string;
  category: string;
  kind: string;
  details: Record<string, unknown>;
  trace_id: string | null;
  prev_hash: string;
  hash: string;
}

interface Filter {
  category: string;
  kind: string;
}

export function eventsPath(filter: Filter): string {
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (filter.category.trim()) query.set('category', filter.category.trim());
  if (filter.kind.trim()) query.set('kind', filter.kind.trim());
  return `/api/v1/timeline/events?${query}`;
}

/** GET /api/v1/timeline/verify (packages/platform/src/timeline/routes.ts). */
interface ChainVerdict {
  ok: boolean;
  checked: number;
  head?: string;
  brokenAt?: { seq: number; eventId: string; reason: string };
  /** genesis when event 1 is kept; checkpoint when retention pruned up to `anchor`. */
  from: 'genesis' | 'checkpoint';
  anchor?: { checkpointId: string; seq: number; headHash: string; keyid: string; createdAt: string };
  /** Retained signed checkpoints whose signature verified. */
  checkpoints: number;
  invalidCheckpoint?: { checkpointId: string; seq: number; reason: string };
}

/** Where the check started: genesis, or the signed checkpoint that retention kept. */
function origin(verdict: ChainVerdict): string {
  const signed = verdict.checkpoints === 1 ? '1 signed checkpoint' : `${verdict.checkpoints} signed checkpoints`;
  if (verdict.from === 'genesis' || !verdict.anchor) return `from genesis (${signed})`;
  return `from the signed checkpoint at event #${verdict.anchor.seq} of ${verdict.anchor.createdAt} (earlier events pruned by retention; ${signed})`;
}

function VerifyChain() {
  const [verdict, setVerdict] = useState<ChainVerdict>();
  const [error, setError] = useState<unknown>();
  const [running, setRunning] = useState(false);
  const run = async () => {
    setRunning(true);
    setError(undefined);
    try {
      setVerdict(await getJson<ChainVerdict>('/api/v1/timeline/verify'));
    } catch (caught) {
      setVerdict(undefined);
      setError(caught);
    } finally {
      setRunning(false);
    }
  };
  return (
    <section class="verify" aria-labelledby="verify-chain">
      <h2 id="verify-chain">Hash chain</h2>
      <button type="button" onClick={run} disabled={running}>
        {running ? 'Verifying…' : 'Verify chain'}
      </button>
      <div role="status" aria-live="polite">
        {verdict?.ok && (
          <p class="status-ok">
            Chain verified {origin(verdict)}: {verdict.checked} events, head <code class="hash">{verdict.head}</code>
          </p>
        )}
        {verdict?.invalidCheckpoint && (
          <p class="status-bad">
            Checkpoint <code>{verdict.invalidCheckpoint.checkpointId}</code> at event #{verdict.invalidCheckpoint.seq}{' '}
            does not verify: {verdict.invalidCheckpoint.reason}.
          </p>
        )}
        {verdict && !verdict.ok && !verdict.invalidCheckpoint && (
          <p class="status-bad">
            Chain broken at event #{verdict.brokenAt?.seq} (<code>{verdict.brokenAt?.eventId}</code>):{' '}
            {verdict.brokenAt?.reason}. {verdict.checked} events before it verified.
          </p>
        )}
      </div>
      {error !== undefined && <Problem error={error} />}
    </section>
  );
}

export function Timeline() {
  // The filter form is a draft: typed but not applied, it survives a sign-in redirect.
  const [draft, setDraft] = useDraft<Filter>('timeline-filter', { category: '', kind: '' });
  const [filter, setFilter] = useState<Filter>(draft);
  // A new filter is a new list: the pages start again at the first.
  const pages = useCursorPages<TimelineEvent>(eventsPath(filter));
  const { page, error } = pages;

  const apply = (event: Event) => {
    event.preventDefault();
    setFilter(draft);
  };
  return (
    <>
      <PageTitle>Timeline</PageTitle>
      <p class="hint">
        Events of this tenant, oldest first. Each event's hash covers the event and the previous hash. The button checks
        the whole chain on the server; <code>stella timeline verify</code> checks it offline without trusting the
        server.
      </p>
      <VerifyChain />
      <form class="filters" onSubmit={apply}>
        <label>
          Category
          <input
            name="category"
            value={draft.category}
            maxLength={64}
            onInput={(e) => setDraft({ ...draft, category: e.currentTarget.value })}
          />
        </label>
        <label>
          Kind
          <input
            name="kind"
            value={draft.kind}
            maxLength={128}
            onInput={(e) => setDraft({ ...draft, kind: e.currentTarget.value })}
          />
        </label>
        <button type="submit">Apply filter</button>
      </form>
      {error !== undefined && <Problem error={error} />}
      <Pager label="Timeline pages" pages={pages} />
      {page?.items.length === 0 && <p>No events{filter.category || filter.kind ? ' match this filter' : ''}.</p>}
      <ol class="events">
        {page?.items.map((event) => (
          <li key={event.event_id}>
            <article aria-labelledby={`event-${event.event_id}`}>
              <h2 id={`event-${event.event_id}`}>
                #{event.seq} {event.kind}
              </h2>
              <dl class="facts">
                <dt>Time</dt>
                <dd>
                  <time dateTime={event.timestamp}>{event.timestamp}</time>
                </dd>
                <dt>Category</dt>
                <dd>{event.category}</dd>
                <dt>Event id</dt>
                <dd>
                  <code>{event.event_id}</code>
                </dd>
                {event.trace_id && (
                  <>
                    <dt>Trace</dt>
                    <dd>
                      <code>{event.trace_id}</code>
                    </dd>
                  </>
                )}
                <dt>Hash</dt>
                <dd>
                  <code class="hash">{event.hash}</code>
                </dd>
                <dt>Previous hash</dt>
                <dd>
                  <code class="hash">{event.prev_hash}</code>
                </dd>
              </dl>
              <details>
                <summary>Details</summary>
                <pre>{JSON.stringify(event.details, null, 2)}</pre>
              </details>
            </article>
          </li>
        ))}
      </ol>
    </>
  );
}
