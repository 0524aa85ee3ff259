// Console addresses of the Findings page: a filtered list (the filter lives in the query) and one finding.

export type Filter = { subject: string; severity: string; reachability: string; verdict: string };
export const NO_FILTER: Filter = { subject: '', severity: '', reachability: '', verdict: '' };

/** The console path of a filtered findings list; empty members are left out. */
export function findingsPagePath(filter: Partial<Filter>): string {
  const query = new URLSearchParams(Object.entries(filter).filter(([, value]) => value) as [string, string][]);
  const search = query.toString();
  return search ? `/console/findings?${search}` : '/console/findings';
}

export function findingPagePath(id: string): string {
  return `/console/findings/${encodeURIComponent(id)}`;
}
