// @stella/authority: the built-in OAuth2 authority: tenants, clients, signing keys, the token
// endpoint and its bootstrap. Resource routes verify its tokens with @stella/platform's verifier.
// Its door is small: the server mounts the module, the CLI hashes client secrets, and jwks() lets a
// process that does not issue tokens verify them.
export { jwks } from './keys.ts';
export { authorityModule } from './module.ts';
export { hashSecret } from './secrets.ts';
export { tenantGateFor } from './tenants.ts';
