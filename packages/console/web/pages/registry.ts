// The console's pages in nav order: the router and the header's nav are both made from this list, so a
// page the token's scopes do not allow is neither linked nor routed (the API refuses it anyway).
import type { ComponentType } from 'preact';
import { Advisories } from './advisories/advisories.tsx';
import { Exports } from './exports/exports.tsx';
import { Findings } from './findings/findings.tsx';
import { Overview } from './overview.tsx';
import { Reachability } from './reachability/reachability.tsx';
import { Timeline } from './timeline.tsx';

export interface ConsolePage {
  /** Under /console/; a page may also answer sub-paths (`/console/exports/:id`) with `routes`. */
  path: string;
  label: string;
  /** Shown only when the token has this scope; none means every signed-in user. */
  scope?: string;
  component: ComponentType;
  /** Further router paths of the same page (detail views), not linked in the nav. */
  routes?: readonly string[];
}

export const PAGES: readonly ConsolePage[] = [
  { path: '/console/overview', label: 'Overview', component: Overview },
  // Pages are added here, one entry each, in nav order.
  {
    path: '/console/advisories',
    label: 'Advisories',
    scope: 'advisory:read',
    component: Advisories,
    routes: ['/console/advisories/record'],
  },
  {
    path: '/console/reachability',
    label: 'Reachability',
    scope: 'signals:read',
    component: Reachability,
    routes: ['/console/reachability/:subject'],
  },
  {
    path: '/console/exports',
    label: 'Export Center',
    scope: 'export:read',
    component: Exports,
    routes: ['/console/exports/runs/:runId'],
  },
  {
    path: '/console/findings',
    label: 'Findings',
    scope: 'findings:read',
    component: Findings,
    routes: ['/console/findings/:id'],
  },
  { path: '/console/timeline', label: 'Timeline', scope: 'timeline:read', component: Timeline },
];
