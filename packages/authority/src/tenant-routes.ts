// /admin/tenants: the platform administrator's API (scope tenant:admin, not tenant-scoped). Thin:
// each route validates its input by schema and calls tenants.ts.
import type { Db, HttpApp } from '@stella/platform';
import Type from 'typebox';
import {
  createTenant,
  createTenantClient,
  getTenant,
  listTenantClients,
  listTenants,
  tenantGateFor,
  updateTenant,
  updateTenantClient,
} from './tenants.ts';

const admin = { auth: { scopes: ['tenant:admin'], tenant: false as const } };
const tags = ['tenants'];
const TenantId = Type.String({ pattern: '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$', maxLength: 63 });
const Tenant = Type.Object({
  id: Type.String(),
  displayName: Type.String(),
  disabled: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
});
const Client = Type.Object({
  clientId: Type.String(),
  tenants: Type.Array(Type.String()),
  scopes: Type.Array(Type.String()),
  source: Type.String({ description: 'bootstrap, config (auth.clients) or api' }),
  disabled: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
});
const TenantParams = Type.Object({ tenant: TenantId });
const ClientParams = Type.Object({ tenant: TenantId, clientId: Type.String({ maxLength: 128 }) });

export function registerTenantRoutes(app: HttpApp, db: Db): void {
  const gate = tenantGateFor(db);
  app.get(
    '/admin/tenants',
    {
      config: admin,
      schema: { tags, summary: 'Every tenant', response: { 200: Type.Object({ items: Type.Array(Tenant) }) } },
    },
    async () => ({ items: await listTenants(db) }),
  );
  app.post(
    '/admin/tenants',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Create a tenant (409 when it exists)',
        body: Type.Object(
          { id: TenantId, displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) },
          { additionalProperties: false },
        ),
        response: { 201: Tenant },
      },
    },
    async (request, reply) => reply.code(201).send(await createTenant(db, request.body)),
  );
  app.get(
    '/admin/tenants/:tenant',
    { config: admin, schema: { tags, summary: 'One tenant', params: TenantParams, response: { 200: Tenant } } },
    async (request) => getTenant(db, request.params.tenant),
  );
  app.patch(
    '/admin/tenants/:tenant',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Rename, disable or enable a tenant',
        description:
          "disabled: true refuses the tenant's tokens from the next request on (every process within a second) and issues no new ones; its data stays.",
        params: TenantParams,
        body: Type.Object(
          {
            displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            disabled: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
        response: { 200: Tenant },
      },
    },
    async (request) => {
      const tenant = await updateTenant(db, request.params.tenant, request.body);
      gate.invalidate();
      request.log.info({ tenant: tenant.id, disabled: tenant.disabled }, 'tenant updated');
      return tenant;
    },
  );
  app.get(
    '/admin/tenants/:tenant/clients',
    {
      config: admin,
      schema: {
        tags,
        summary: "The tenant's OAuth2 clients",
        params: TenantParams,
        response: { 200: Type.Object({ items: Type.Array(Client) }) },
      },
    },
    async (request) => ({ items: await listTenantClients(db, request.params.tenant) }),
  );
  app.post(
    '/admin/tenants/:tenant/clients',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Create a client of this tenant; its secret is in this answer only',
        params: TenantParams,
        body: Type.Object(
          {
            clientId: Type.String({ maxLength: 64 }),
            scopes: Type.Optional(
              Type.Array(Type.String({ maxLength: 64 }), {
                maxItems: 64,
                description:
                  'Default: every tenant scope (not tenant:admin, authority:admin, timeline:write or metrics:read).',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Intersect([Client, Type.Object({ clientSecret: Type.String() })]) },
      },
    },
    async (request, reply) => {
      const client = await createTenantClient(db, request.params.tenant, {
        clientId: request.body.clientId,
        scopes: request.body.scopes ?? [],
      });
      request.log.info({ tenant: request.params.tenant, clientId: client.clientId }, 'client created');
      return reply.code(201).header('cache-control', 'no-store').send(client);
    },
  );
  app.patch(
    '/admin/tenants/:tenant/clients/:clientId',
    {
      config: admin,
      schema: {
        tags,
        summary: "Disable, enable or re-scope one of the tenant's clients",
        params: ClientParams,
        body: Type.Object(
          {
            disabled: Type.Optional(Type.Boolean()),
            scopes: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: 64 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Client },
      },
    },
    async (request) => updateTenantClient(db, request.params.tenant, request.params.clientId, request.body),
  );
}
