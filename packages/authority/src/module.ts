// The authority as a room of the server: its tables, its first-start bootstrap, its token routes and
// the key-rotation route behind `stella auth rotate-keys`.
import { counter, keyEncryptionKeyFor, type Module } from '@stella/platform';
import Type from 'typebox';
import { bootstrapAuthority, MAX_SECRET_OVERLAP_SECONDS, rotateClientSecret } from './clients.ts';
import { registerAuthCommands, registerTenantCommands, registerUserCommands } from './commands.ts';
import { prepareKeyEncryption } from './key-encryption.ts';
import { rotateKeys } from './keys.ts';
import { registerAuthorityRoutes } from './routes.ts';
import { registerTenantRoutes } from './tenant-routes.ts';
import { createTokenThrottle } from './throttle.ts';
import { registerUserRoutes } from './user-routes.ts';

/** Folder of this module's NNNN_name.sql migrations, for the platform's migrator. */
export const authorityMigrations = new URL('../migrations/', import.meta.url);

export const authorityModule: Module = {
  name: 'authority',
  commands(program, cli) {
    registerAuthCommands(program, cli);
    registerUserCommands(program, cli);
    registerTenantCommands(program, cli);
  },
  migrations: authorityMigrations,
  dependsOn: ['platform'],
  async start(ctx) {
    // First, in every target: the other rooms' key stores find the KEK attached to ctx.db.
    const kek = await prepareKeyEncryption(ctx);
    const result = await bootstrapAuthority(ctx.db, {
      home: ctx.config.home,
      configClients: ctx.config.auth.clients,
      createDefaults: ctx.config.auth.bootstrap,
      verifierClient: ctx.config.auth.verifierClient,
      now: ctx.clock.now(),
      kek,
    });
    if (result.created) ctx.logger.info({ credentials: result.credentialsFile }, 'bootstrap clients created');
    if (result.disabledClients.length) ctx.logger.warn({ clients: result.disabledClients }, 'config clients disabled');
  },
  routes(app, ctx) {
    const refused = counter(
      ctx.metrics,
      'stella_token_throttled_total',
      'Token requests and console sign-ins refused with 429 (slow_down at /token): client_backoff (client id or user name, and address), address_backoff, busy (secret checks queued).',
      ['reason'],
    );
    registerAuthorityRoutes(app, {
      db: ctx.db,
      issuer: ctx.publicUrl,
      config: ctx.config.auth,
      now: () => ctx.clock.now(),
      kek: keyEncryptionKeyFor(ctx.db),
      consoleOrigins: ctx.config.auth.consoleOrigins,
      throttle: createTokenThrottle({
        failuresBeforeBackoff: ctx.config.auth.tokenFailuresBeforeBackoff,
        backoffMaxSeconds: ctx.config.auth.tokenBackoffMaxSeconds,
        secretCheckConcurrency: ctx.config.auth.secretCheckConcurrency,
        onRefused: (reason) => refused.inc({ reason }),
      }),
    });
    registerUserRoutes(app, ctx.db);
    registerTenantRoutes(app, ctx.db);
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
        const result = await rotateKeys(
          ctx.db,
          {
            maxTokenLifetimeSeconds: ctx.config.auth.tokenTtlSeconds,
            skewSeconds: ctx.config.auth.clockSkewSeconds,
            now: ctx.clock.now(),
          },
          keyEncryptionKeyFor(ctx.db),
        );
        request.log.info({ kid: result.kid }, 'signing key rotated');
        return { activeKid: result.kid, retiredKids: result.retired };
      },
    );
    app.post<{ Params: { clientId: string }; Body: { overlapSeconds?: number } }>(
      '/api/v1/authority/clients/:clientId/rotate-secret',
      {
        config: { auth: { scopes: ['authority:admin'], tenant: false } },
        schema: {
          tags: ['authority'],
          summary: 'Give a client a new secret; the old one keeps working for the overlap',
          description:
            "Seed 004 §3/§5 (the verifier's quarterly rotation). The new secret is in this answer only (no-store); the previous one is accepted until previousSecretExpiresAt. Clients from auth.clients are rotated in the configuration instead (409).",
          params: Type.Object({ clientId: Type.String({ maxLength: 128 }) }),
          body: Type.Object(
            {
              overlapSeconds: Type.Optional(
                Type.Integer({
                  minimum: 0,
                  maximum: MAX_SECRET_OVERLAP_SECONDS,
                  default: 86_400,
                  description: 'How long the old secret keeps working (default 24 h; 0: it stops at once).',
                }),
              ),
            },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({
              clientId: Type.String(),
              clientSecret: Type.String(),
              previousSecretExpiresAt: Type.String({ format: 'date-time' }),
            }),
          },
        },
      },
      async (request, reply) => {
        const rotated = await rotateClientSecret(ctx.db, request.params.clientId, {
          overlapSeconds: request.body?.overlapSeconds ?? 86_400,
          now: ctx.clock.now(),
        });
        request.log.info(
          { clientId: rotated.clientId, previousSecretExpiresAt: rotated.previousSecretExpiresAt },
          'client secret rotated',
        );
        reply.header('cache-control', 'no-store');
        return { ...rotated, previousSecretExpiresAt: rotated.previousSecretExpiresAt.toISOString() };
      },
    );
  },
};
