// `POST /signals/attest/runtime`: a runtime trace's digest signed by the tenant's signals-runtime
// key, as a DSSE in-toto statement that the offline ingest verifies against its trust roots.
import { canonicalJson, type DsseEnvelope } from '@stella/core';
import type { SignalsContext } from '../context.ts';

export const RUNTIME_PREDICATE = 'https://stella.local/attestations/runtime-trace/v1';

export interface RuntimeAttestRequest {
  name: string;
  /** sha256 of the trace, with or without the `sha256:` prefix. */
  sha256: string;
  graphHash?: string;
}

export async function attestRuntime(
  ctx: SignalsContext,
  tenant: string,
  request: RuntimeAttestRequest,
): Promise<DsseEnvelope> {
  const { signing, clock } = ctx.deps;
  const signer = await signing.getSigner(tenant, 'signals-runtime', 'ed25519');
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: request.name, digest: { sha256: request.sha256.replace(/^sha256:/, '') } }],
    predicateType: RUNTIME_PREDICATE,
    predicate: {
      tenant,
      ...(request.graphHash ? { graphHash: request.graphHash } : {}),
      signedAt: clock.now().toISOString(),
    },
  };
  return signer.signDsse('application/vnd.in-toto+json', Buffer.from(canonicalJson(statement), 'utf8'));
}
