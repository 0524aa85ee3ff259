// The CAS objects a tenant's Signals rows hold: graphs with their CSR, manifest and DSSE, runtime
// batches and fact documents (Module.blobReferences; receipts are referenced by the timeline).
import type { Queryable } from '@stella/platform';

export const SIGNALS_NAMESPACES = [
  'reachability/csr',
  'reachability/dsse',
  'reachability/facts',
  'reachability/graphs',
  'reachability/manifests',
  'reachability/receipts',
  'reachability/runtime',
] as const;

export async function signalsBlobUris(tx: Queryable): Promise<string[]> {
  const { rows } = await tx.query<{ uri: string }>(
    `select unnest(array[cas_uri, csr_uri, manifest_uri, dsse_uri]) as uri from signals_callgraphs
     union all select cas_uri from signals_runtime_ingests
     union all select cas_uri from signals_facts`,
  );
  return rows.map((r) => r.uri);
}
