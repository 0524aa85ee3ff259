// Console addresses of the Reachability page, for its own links and the Findings page's.

/** The console path of a subject's page; subject keys hold `|`, `/` and `:`, so they are encoded. */
export function subjectPagePath(subjectKey: string): string {
  return `/console/reachability/${encodeURIComponent(subjectKey)}`;
}
