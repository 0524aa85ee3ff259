// The tenant's signing keys over HTTP: every purpose's keys with their status, and rotation of one
// purpose (`stella keys list|rotate`). Thin: the store does the work.
import Type from 'typebox';
import type { Db } from '../db/index.ts';
import type { HttpApp } from '../http/index.ts';
import { tenantOf } from '../http/index.ts';
import { createSigningKeyStore } from './store.ts';

const tags = ['keys'];
const PublicKey = Type.Object({
  keyid: Type.String({ description: 'sha256 of the DER SubjectPublicKeyInfo' }),
  purpose: Type.String({ description: 'export-center, signals-graph, signals-runtime, policy-snapshot, timeline, …' }),
  algorithm: Type.String(),
  publicKeyPem: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('retired')]),
  createdAt: Type.String({ format: 'date-time' }),
});

export function registerSigningKeyRoutes(app: HttpApp, db: Db): void {
  const store = createSigningKeyStore(db);
  app.get(
    '/api/v1/keys',
    {
      config: { auth: { scopes: ['evidence:read'] } },
      schema: {
        tags,
        summary: "The tenant's signing keys of every purpose, active and retired (public halves)",
        response: { 200: Type.Object({ keys: Type.Array(PublicKey) }) },
      },
    },
    async (request) => ({ keys: await store.listPublicKeys(tenantOf(request)) }),
  );
  app.post(
    '/api/v1/keys/rotate',
    {
      config: { auth: { scopes: ['authority:admin'] } },
      schema: {
        tags,
        summary: "Rotate the tenant's signing key of one purpose",
        description:
          'The active key(s) of the purpose become retired and stay listed, so what they signed still verifies; a new key signs from now on (other processes move to it within 5 s). 404 when the purpose has no key yet: it is made on first use.',
        body: Type.Object(
          { purpose: Type.String({ pattern: '^[a-z][a-z0-9_-]{0,63}$' }) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ active: Type.Array(PublicKey), retired: Type.Array(Type.String()) }) },
      },
    },
    async (request) => {
      const tenant = tenantOf(request);
      const result = await store.rotate(tenant, request.body.purpose);
      request.log.info({ tenant, purpose: request.body.purpose, retired: result.retired }, 'signing key rotated');
      return result;
    },
  );
}
