// One raw record (/console/advisories/record?id=…): its provenance as the envelope states it, the
// linkset extracted from it, the upstream document exactly as received, and its revision chain.
import { Problem } from '../../components/problem.tsx';
import { useJson } from '../../components/use-json.ts';
import { PageTitle } from '../page-title.tsx';
import { RawDocument } from './raw-document.tsx';
import { recordHref, recordPath, revisionOf, searchHref } from './requests.ts';
import { RevisionChain } from './revision-chain.tsx';
import type { ListedRecord } from './types.ts';

export function RecordDetail({ id }: { id: string }) {
  // The envelope route also returns the parsed document in content.raw; the page shows the stored bytes instead.
  const { data: record, error } = useJson<ListedRecord>(recordPath(id));
  return (
    <>
      <PageTitle>Raw record</PageTitle>
      <p>
        <a href="/console/advisories">Back to the search</a>
      </p>
      {error !== undefined && <Problem error={error} />}
      {record && <Provenance record={record} />}
      {record && <LinksetOfRecord record={record} />}
      <RawDocument id={id} />
      {record && <RevisionChain record={record} />}
    </>
  );
}

function Provenance({ record }: { record: ListedRecord }) {
  const { source, upstream, content } = record;
  const signature = upstream.signature;
  const validation = content.schema_validation;
  return (
    <section aria-labelledby="provenance-heading">
      <h2 id="provenance-heading">
        {source.vendor} · {upstream.upstream_id} · revision {revisionOf(record.id)}
      </h2>
      <dl class="facts" aria-labelledby="provenance-heading">
        <dt>Record id</dt>
        <dd>
          <code>{record.id}</code>
        </dd>
        <dt>Source</dt>
        <dd>
          {source.vendor} (connector {source.connector} {source.version}
          {source.stream ? `, stream ${source.stream}` : ''})
        </dd>
        <dt>Upstream id</dt>
        <dd>{upstream.upstream_id}</dd>
        <dt>Document version</dt>
        <dd>{upstream.document_version ?? '—'}</dd>
        <dt>Retrieved</dt>
        <dd>
          <time dateTime={upstream.retrieved_at}>{upstream.retrieved_at}</time>
        </dd>
        <dt>Ingested</dt>
        <dd>
          <time dateTime={record.ingested_at}>{record.ingested_at}</time>
        </dd>
        <dt>Content hash</dt>
        <dd>
          <code class="hash">{upstream.content_hash}</code>
        </dd>
        <dt>Signature</dt>
        <dd>
          {signature.present
            ? `${signature.format ?? 'present'}${signature.key_id ? ` key ${signature.key_id}` : ''}: ${
                signature.verified ? 'verified' : `not verified${signature.reason ? ` (${signature.reason})` : ''}`
              }`
            : 'none'}
        </dd>
        <dt>Format</dt>
        <dd>
          {content.format} {content.spec_version}
        </dd>
        <dt>Schema</dt>
        <dd>
          {validation.schema === null
            ? 'no schema applies'
            : `${validation.schema}: ${validation.valid ? 'valid' : `${validation.errors.length} error(s), stored anyway`}`}
        </dd>
        <dt>Supersedes</dt>
        <dd>
          {record.supersedes ? <a href={recordHref(record.supersedes)}>{record.supersedes}</a> : 'nothing (first)'}
        </dd>
      </dl>
      {validation.errors.length > 0 && (
        <details>
          <summary>Schema errors</summary>
          <ul>
            {validation.errors.map((e) => (
              <li key={e.pointer + e.message}>
                <code>{e.pointer || '/'}</code> {e.message}
              </li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}

function LinksetOfRecord({ record }: { record: ListedRecord }) {
  const { aliases, purls } = record.linkset;
  return (
    <section aria-labelledby="record-linkset-heading">
      <h2 id="record-linkset-heading">What it names</h2>
      <dl class="facts">
        <dt>Aliases</dt>
        <dd>
          {aliases.length === 0 ? (
            '—'
          ) : (
            <ul class="aliases">
              {aliases.map((alias) => (
                <li key={alias}>
                  <a href={searchHref({ by: 'alias', term: alias, source: '' })}>{alias}</a>
                </li>
              ))}
            </ul>
          )}
        </dd>
        <dt>Packages</dt>
        <dd>
          {purls.length === 0 ? (
            '—'
          ) : (
            <ul class="purls">
              {purls.map((purl) => (
                <li key={purl}>
                  <code>{purl}</code>
                </li>
              ))}
            </ul>
          )}
        </dd>
      </dl>
    </section>
  );
}
