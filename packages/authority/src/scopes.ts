// The authority's view of the scope catalogue. The catalogue itself lives in @stella/platform, which
// every room's routes check against; this module only re-exports it so the authority's door names it.
export type { Scope } from '@stella/platform';
export { isKnownScope, SCOPES, validateScopeSet } from '@stella/platform';
