// The OpenAPI document: swagger collects every route's schema, the docs UI serves it at /docs, and
// routes that declare auth are documented with their bearer requirement, scopes and tenant header.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { HttpApp } from './app.ts';

export async function registerOpenApi(app: HttpApp, options: { version: string; docsUi?: boolean }): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'stella API',
        version: options.version,
        description:
          'Offline-first evidence platform for software supply-chain security. Errors are application/problem+json with a stable `code` (docs/errors.md).',
      },
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
    },
  });
  if (options.docsUi !== false) await app.register(swaggerUi, { routePrefix: '/docs' });
}

/** Routes that declare auth get the bearer requirement and the tenant header in the OpenAPI document. */
export function documentRouteAuth(app: HttpApp, tenantHeader: string): void {
  app.addHook('onRoute', (route) => {
    const auth = route.config?.auth;
    if (!auth) return;
    route.schema ??= {};
    const schema = route.schema as Record<string, unknown>;
    schema.security = [{ bearerAuth: [] }];
    if (auth.tenant !== false) {
      schema.headers ??= { type: 'object', properties: {} };
      const headers = schema.headers as { properties?: Record<string, unknown> };
      headers.properties = {
        ...headers.properties,
        [tenantHeader.toLowerCase()]: {
          type: 'string',
          description:
            'Tenant the request acts for (X-StellaOps-Tenant is accepted too); optional for a single-tenant token',
        },
      };
    }
    const scopes = auth.scopes.join(' ');
    const idempotent = route.config?.idempotent
      ? 'Honours `Idempotency-Key`: a repeat of the same request returns the first answer (`Idempotency-Replayed: true`).'
      : undefined;
    schema.description = [
      schema.description,
      `Requires scope${auth.scopes.length > 1 ? 's' : ''}: \`${scopes}\`.`,
      idempotent,
    ]
      .filter(Boolean)
      .join(' ');
  });
}

/** GET /openapi.json: the document itself. */
export function openApiRoute(app: HttpApp): void {
  app.get('/openapi.json', { schema: { tags: ['platform'], summary: 'This OpenAPI document', hide: true } }, async () =>
    app.swagger(),
  );
}
