// The authority as a room of the server: its tables, its first-start bootstrap, its token routes and
// the key-rotation route behind `stella auth rotate-keys`.
import type { Module } from '@stella/platform';
import Type from 'typebox';
import { bootstrapAuthority } from './clients.ts';
import { registerAuthCommands } from './commands.ts';
import { rotateKeys } from './keys.ts';
import { registerAuthorityRoutes } from './routes.ts';

export const authorityModule: Module = {
  name: 'authority',
  commands(program, cli) {
    registerAuthCommands(program, cli);
  },
  migrations: new URL('../migrations/', import.meta.url),
  dependsOn: ['platform'],
  async start(ctx) {
    const result = await bootstrapAuthority(ctx.db, {
      home: ctx.config.home,
      configClients: ctx.config.auth.clients,
      createDefaults: ctx.config.auth.bootstrap,
      now: ctx.clock.now(),
    });
    if (result.created) ctx.logger.info({ credentials: result.credentialsFile }, 'bootstrap clients created');
    if (result.disabledClients.length) ctx.logger.warn({ clients: result.disabledClients }, 'config clients disabled');
  },
  routes(app, ctx) {
    registerAuthorityRoutes(app, {
      db: ctx.db,
      issuer: ctx.publicUrl,
      config: ctx.config.auth,
      now: () => ctx.clock.now(),
    });
    app.post(
      '/api/v1/authority/keys/rotate',
      {
        config: { auth: { scopes: ['authority:admin'], tenant: false } },
        schema: {
          tags: ['authority'],
          summary: 'Rotate the token signing key; retired keys stay published until their tokens expired',
          response: { 200: Type.Object({ activeKid: Type.String(), retiredKids: Type.Array(Type.String()) }) },
        },
      },
      async (request) => {
        const result = await rotateKeys(ctx.db, {
          maxTokenLifetimeSeconds: ctx.config.auth.tokenTtlSeconds,
          skewSeconds: ctx.config.auth.clockSkewSeconds,
          now: ctx.clock.now(),
        });
        request.log.info({ kid: result.kid }, 'signing key rotated');
        return { activeKid: result.kid, retiredKids: result.retired };
      },
    );
  },
};
