// Authentication for every room: the scope catalogue, the access-token verifier and the
// scope/tenant check routes run before their handler.
export { AuthErrors } from './errors.ts';
export type { Scope } from './scopes.ts';
export { isKnownScope, quoteScope, SCOPES, sortScopes, validateScopeSet } from './scopes.ts';
export type { AuthorizeOptions, Principal, TokenKeySource, TokenVerifier, TokenVerifierOptions } from './verifier.ts';
export { ACCEPTED_TOKEN_ALGORITHMS, authorize, createTokenVerifier } from './verifier.ts';
