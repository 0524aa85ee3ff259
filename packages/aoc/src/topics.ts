// SPDX-License-Identifier: Apache-2.0
// The AOC room's outbox topics: events other rooms may subscribe to (through the server's wiring).

/**
 * Published in the transaction that writes raw rows: `{tenant, written, stores}`. It says only that a
 * tenant's advisories or VEX changed; subscribers read what they need through the room's door.
 */
export const AOC_RAW_TOPIC = 'aoc.raw.ingested.v1';
