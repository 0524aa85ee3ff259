// A document's revision chain as a timeline, first revision to head: each revision supersedes the one
// before it, so a reader sees when the upstream changed and which revision the search showed.
import { Problem } from '../../components/problem.tsx';
import { useJson } from '../../components/use-json.ts';
import { historyPath, recordHref, revisionOf } from './requests.ts';
import type { ListedRecord, RevisionHistory } from './types.ts';

export function RevisionChain({ record }: { record: ListedRecord }) {
  const { data, error } = useJson<RevisionHistory>(
    historyPath(record.id, record.source.vendor, record.upstream.upstream_id),
  );
  return (
    <section aria-labelledby="revisions-heading">
      <h2 id="revisions-heading">Revision chain</h2>
      {error !== undefined && <Problem error={error} />}
      {data && (
        <ol class="revision-chain" aria-labelledby="revisions-heading">
          {data.revisions.map((revision) => {
            const shown = revision.id === record.id;
            const head = revision.id === data.head;
            return (
              <li
                key={revision.id}
                class={shown ? 'revision shown' : 'revision'}
                aria-current={shown ? 'true' : undefined}
              >
                <h3>
                  {shown ? (
                    `Revision ${revisionOf(revision.id)}`
                  ) : (
                    <a href={recordHref(revision.id)}>Revision {revisionOf(revision.id)}</a>
                  )}
                  {head && <span class="badge">head</span>}
                  {shown && <span class="badge">shown</span>}
                </h3>
                <dl class="facts">
                  <dt>Ingested</dt>
                  <dd>
                    <time dateTime={revision.ingested_at}>{revision.ingested_at}</time>
                  </dd>
                  <dt>Retrieved</dt>
                  <dd>
                    <time dateTime={revision.upstream.retrieved_at}>{revision.upstream.retrieved_at}</time>
                  </dd>
                  <dt>Document version</dt>
                  <dd>{revision.upstream.document_version ?? '—'}</dd>
                  <dt>Content hash</dt>
                  <dd>
                    <code class="hash">{revision.upstream.content_hash}</code>
                  </dd>
                  <dt>Supersedes</dt>
                  <dd>{revision.supersedes ? <code>{revision.supersedes}</code> : 'nothing (first)'}</dd>
                </dl>
              </li>
            );
          })}
        </ol>
      )}
    </section>
  );
}
