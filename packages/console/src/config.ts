// The console section of the configuration: which authorization server the console signs people in
// with. Empty endpoints (the default) mean stella's own authority on the same origin.
import { defineConfigSection } from '@stella/platform';
import Type, { type Static } from 'typebox';

export const consoleConfig = defineConfigSection(
  'console',
  Type.Object(
    {
      oidc: Type.Object(
        {
          authorizationEndpoint: Type.String({
            default: '',
            description:
              "An external OIDC provider's authorization endpoint (its discovery document's `authorization_endpoint`) the console signs in with instead of stella's own /authorize. Set together with console.oidc.tokenEndpoint, and with auth.externalIssuer/auth.externalJwksUrl so the API accepts that provider's tokens.",
          }),
          tokenEndpoint: Type.String({
            default: '',
            description:
              "The external provider's token endpoint (`token_endpoint`). The browser posts the code there, so the provider must answer this server's origin with CORS (stella's own authority does for the origins in auth.consoleOrigins).",
          }),
          clientId: Type.String({
            default: 'stella-console',
            description:
              'The public client (no secret, PKCE S256) registered at the external provider, with redirect URI <server.publicUrl>/console/callback.',
          }),
          scope: Type.String({
            default: '',
            description:
              'Scopes the console asks the external provider for, space-separated (e.g. `openid`); empty sends none. The tokens must carry `sub`, `tid` and the stella scopes in `scope`.',
          }),
        },
        { default: {}, additionalProperties: false },
      ),
    },
    { default: {}, additionalProperties: false },
  ),
);

export type ConsoleConfig = Static<typeof consoleConfig.schema>;

declare module '@stella/platform' {
  interface RoomConfig {
    console: ConsoleConfig;
  }
}
