// The upstream document exactly as the AOC stored it: the bytes of GET …/:id/raw shown as text in a
// <pre>, never parsed or re-indented, and hashed here so a reader sees that what is on screen is what
// the content hash covers.
import { useEffect, useState } from 'preact/hooks';
import { authorisedFetch } from '../../api.ts';
import { Problem } from '../../components/problem.tsx';
import { recordPath } from './requests.ts';

interface RawBytes {
  text: string;
  byteLength: number;
  /** The server's X-Stella-Content-Hash for these bytes. */
  storedHash: string;
  /** The bytes' sha256 computed here; undefined where the browser offers no Web Crypto (a plain-http origin). */
  shownHash: string | undefined;
}

async function sha256Of(bytes: ArrayBuffer): Promise<string | undefined> {
  if (!globalThis.crypto?.subtle) return undefined;
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return `sha256:${Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

async function fetchRaw(id: string): Promise<RawBytes> {
  const response = await authorisedFetch(`${recordPath(id)}/raw`, { headers: { accept: 'application/json' } });
  const bytes = await response.arrayBuffer();
  return {
    // ignoreBOM keeps a leading byte-order mark in the text: Response.text() would drop it.
    text: new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes),
    byteLength: bytes.byteLength,
    storedHash: response.headers.get('x-stella-content-hash') ?? '',
    shownHash: await sha256Of(bytes),
  };
}

export function RawDocument({ id }: { id: string }) {
  const [raw, setRaw] = useState<RawBytes>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    let current = true;
    fetchRaw(id).then(
      (loaded) => {
        if (current) setRaw(loaded);
      },
      (caught) => {
        if (current) setError(caught);
      },
    );
    return () => {
      current = false;
    };
  }, [id]);
  return (
    <section aria-labelledby="raw-heading">
      <h2 id="raw-heading">Raw document, as received</h2>
      {error !== undefined && <Problem error={error} />}
      {raw === undefined && error === undefined && <p role="status">Loading the stored bytes…</p>}
      {raw && (
        <>
          <dl class="facts">
            <dt>Size</dt>
            <dd>{raw.byteLength} bytes</dd>
            <dt>Stored hash</dt>
            <dd>
              <code class="hash">{raw.storedHash}</code>
            </dd>
            <dt>Hash of the bytes shown</dt>
            <dd>
              {raw.shownHash === undefined ? (
                'not computed: this browser offers no Web Crypto on a plain-http origin'
              ) : (
                <>
                  <code class="hash">{raw.shownHash}</code>{' '}
                  {raw.shownHash === raw.storedHash ? (
                    <span class="status-ok">matches</span>
                  ) : (
                    <span class="status-bad">does not match the stored hash: run AOC verify</span>
                  )}
                </>
              )}
            </dd>
          </dl>
          {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard */}
          <section class="raw-document" tabIndex={0} aria-label="Raw document text, scrollable">
            <pre>{raw.text}</pre>
          </section>
        </>
      )}
    </section>
  );
}
