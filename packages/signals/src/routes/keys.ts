// Signing routes: the tenant's public keys (the offline ingest's trust roots) and the runtime trace
// attestation signed by the signals-runtime key.
import type { HttpApp } from '@stella/platform';
import Type from 'typebox';
import type { Signals } from '../service.ts';
import { tenantOf } from './request.ts';
import { Json, tags } from './schemas.ts';

const PublicKeys = Type.Object({
  keys: Type.Array(
    Type.Object({
      keyid: Type.String(),
      purpose: Type.String(),
      algorithm: Type.String(),
      publicKeyPem: Type.String(),
      status: Type.String(),
      createdAt: Type.String(),
    }),
  ),
});

export function registerKeyRoutes(app: HttpApp, signals: Signals): void {
  app.get(
    '/signals/keys',
    {
      config: { auth: { scopes: ['signals:read'] } },
      schema: {
        tags,
        summary: 'Public keys of the tenant signing keys (put them in signals.trustRootsPath to verify offline)',
        response: { 200: PublicKeys },
      },
    },
    async (request) => ({ keys: await signals.listPublicKeys(tenantOf(request)) }),
  );

  app.post(
    '/signals/attest/runtime',
    {
      config: { auth: { scopes: ['signals:write'] } },
      schema: {
        tags,
        summary: 'Sign a runtime trace digest: a DSSE in-toto statement by the tenant signals-runtime key',
        body: Type.Object({
          name: Type.String({ minLength: 1, maxLength: 500 }),
          sha256: Type.String({ pattern: '^(sha256:)?[0-9a-f]{64}$' }),
          graphHash: Type.Optional(Type.String({ pattern: '^sha256:[0-9a-f]{64}$' })),
        }),
        response: { 200: Json },
      },
    },
    async (request) => signals.attestRuntime(tenantOf(request), request.body),
  );
}
