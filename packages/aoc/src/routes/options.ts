// SPDX-License-Identifier: Apache-2.0
// Route options every AOC route group shares: the OpenAPI tag and the two kinds of raw document.
export const tags = ['aoc'];

/** Each raw store has its own ingest and read routes. */
export const KINDS = ['advisory', 'vex'] as const;
