// CAS upkeep over HTTP for the platform administrator (scope tenant:admin, not tenant-scoped):
// collect unreferenced objects now (`stella cas gc`) and see the layout move's outcome. Thin: the
// maintenance does the work.
import Type from 'typebox';
import type { HttpApp } from '../http/index.ts';
import type { CasMaintenance } from './maintenance.ts';

const admin = { auth: { scopes: ['tenant:admin'], tenant: false as const } };
const tags = ['cas'];
const CollectReport = Type.Object({
  tenants: Type.Integer(),
  scanned: Type.Integer(),
  deleted: Type.Integer(),
  deletedBytes: Type.Integer(),
  young: Type.Integer({ description: 'unreferenced objects spared because they are younger than the grace period' }),
  graceSeconds: Type.Integer(),
});

export function registerCasRoutes(app: HttpApp, cas: CasMaintenance, defaultGraceSeconds: number): void {
  app.post(
    '/admin/cas/gc',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Remove CAS objects that no row or timeline event of their tenant references',
        description:
          'Objects younger than graceSeconds (default cas.gcGraceSeconds) are kept: an object and the row that references it commit apart.',
        body: Type.Optional(
          Type.Object(
            { graceSeconds: Type.Optional(Type.Integer({ minimum: 3600 })) },
            { additionalProperties: false },
          ),
        ),
        response: { 200: CollectReport },
      },
    },
    async (request) => {
      const graceSeconds = request.body?.graceSeconds ?? defaultGraceSeconds;
      return { ...(await cas.collect(graceSeconds)), graceSeconds };
    },
  );
}
