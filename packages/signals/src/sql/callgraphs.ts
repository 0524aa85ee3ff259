// SQL of the callgraph aggregate. Callers run these inside a transaction with app.tenant set.
import type { Queryable } from '@stella/platform';

export interface CallgraphRow {
  tenant: string;
  callgraphId: string;
  graphHash: string;
  format: string;
  language: string;
  component: string;
  version: string;
  nodeCount: number;
  edgeCount: number;
  entrypointCount: number;
  packages: string[];
  casUri: string;
  csrUri: string;
  manifestUri: string;
  dsseUri: string;
  signerKeyid: string;
  analysisId: string | null;
  createdAt: string;
}

const COLUMNS = `tenant, callgraph_id as "callgraphId", graph_hash as "graphHash", format, language, component, version,
  node_count as "nodeCount", edge_count as "edgeCount", entrypoint_count as "entrypointCount", packages,
  cas_uri as "casUri", csr_uri as "csrUri", manifest_uri as "manifestUri", dsse_uri as "dsseUri",
  signer_keyid as "signerKeyid", analysis_id as "analysisId", created_at as "createdAt"`;

function normalize(row: CallgraphRow | undefined): CallgraphRow | undefined {
  if (!row) return undefined;
  return { ...row, createdAt: new Date(row.createdAt).toISOString() };
}

export async function insertCallgraph(tx: Queryable, row: Omit<CallgraphRow, 'createdAt'>): Promise<boolean> {
  const result = await tx.query(
    `insert into signals_callgraphs (tenant, callgraph_id, graph_hash, format, language, component, version, node_count,
       edge_count, entrypoint_count, packages, cas_uri, csr_uri, manifest_uri, dsse_uri, signer_keyid, analysis_id)
     values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17)
     on conflict do nothing`,
    [
      row.tenant,
      row.callgraphId,
      row.graphHash,
      row.format,
      row.language,
      row.component,
      row.version,
      row.nodeCount,
      row.edgeCount,
      row.entrypointCount,
      row.packages,
      row.casUri,
      row.csrUri,
      row.manifestUri,
      row.dsseUri,
      row.signerKeyid,
      row.analysisId,
    ],
  );
  return result.rowCount === 1;
}

export async function selectCallgraph(
  tx: Queryable,
  tenant: string,
  idOrHash: string,
): Promise<CallgraphRow | undefined> {
  const column = idOrHash.startsWith('sha256:') ? 'graph_hash' : 'callgraph_id';
  const result = await tx.query<CallgraphRow>(
    `select ${COLUMNS} from signals_callgraphs where tenant = $1 and ${column} = $2`,
    [tenant, idOrHash],
  );
  return normalize(result.rows[0]);
}
