// The scope catalogue (spec §4) and the rules on which scopes may be combined. It lives in platform
// because every room checks scopes on its routes, while only the authority issues them.

export const SCOPES = [
  'advisory:ingest',
  'advisory:read',
  'vex:ingest',
  'vex:read',
  'aoc:verify',
  'signals:read',
  'signals:write',
  'signals:admin',
  'export:profile:manage',
  'export:run',
  'export:read',
  'export:download',
  'sbom:ingest',
  'sbom:read',
  'findings:read',
  // Queueing recomputes of stored findings (POST /findings/recompute).
  'findings:write',
  'policy:read',
  // Publishing policy snapshots and choosing the active one.
  'policy:write',
  'orch:read',
  'orch:quota',
  'orch:operate',
  'orch:backfill',
  'evidence:read',
  'tenant:select',
  'timeline:read',
  // Internal: appending to the timeline (POST /timeline/events) is for stella's own services.
  'timeline:write',
  // Operating the built-in authority itself (signing-key rotation); not tenant-scoped.
  'authority:admin',
  // Creating, disabling and listing tenants and their clients (/admin/tenants); the platform
  // administrator's, never a tenant's: no console role and no tenant client may hold it.
  'tenant:admin',
  // Reading GET /metrics (Prometheus scrapes with a bearer token); not tenant-scoped.
  'metrics:read',
] as const;

export type Scope = (typeof SCOPES)[number];

const KNOWN: ReadonlySet<string> = new Set(SCOPES);

export function isKnownScope(scope: string): scope is Scope {
  return KNOWN.has(scope);
}

/** Verification reads what it verifies, so `aoc:verify` without a read scope would be a token that can do nothing. */
const AOC_VERIFY_COMPANIONS = ['advisory:read', 'vex:read'] as const;

/**
 * Checks a set of scopes against the catalogue and its pairing rules. Returns the reason the set is
 * not acceptable, or undefined when it is. Scope names in the reason are quoted and length-capped
 * because they may come from a request.
 */
export function validateScopeSet(scopes: Iterable<string>): string | undefined {
  const set = new Set(scopes);
  for (const scope of set) {
    if (!isKnownScope(scope)) return `unknown scope ${quoteScope(scope)}; known scopes: ${SCOPES.join(' ')}`;
  }
  if (set.has('aoc:verify') && !AOC_VERIFY_COMPANIONS.some((s) => set.has(s))) {
    return `scope 'aoc:verify' is only granted together with ${AOC_VERIFY_COMPANIONS.map((s) => `'${s}'`).join(' or ')}`;
  }
  return undefined;
}

/** Orders scopes as in the catalogue so the same grant always yields the same `scope` string. */
export function sortScopes(scopes: Iterable<string>): string[] {
  const order = (s: string) => {
    const i = (SCOPES as readonly string[]).indexOf(s);
    return i === -1 ? SCOPES.length : i;
  };
  return [...new Set(scopes)].sort((a, b) => order(a) - order(b) || a.localeCompare(b));
}

export function quoteScope(scope: string): string {
  const printable = scope.replace(/[^\x21-\x7e]/g, '?');
  return `'${printable.length > 64 ? `${printable.slice(0, 64)}…` : printable}'`;
}
