// The names signals shares with its workers and subscribers: the outbox topic of fact events and
// the two job queues (recompute, orphan attach). Changing one strands jobs or events already queued.

export const FACT_TOPIC = 'signals.fact.updated.v1';
export const RECOMPUTE_QUEUE = 'signals.recompute';
export const ORPHAN_QUEUE = 'signals.orphan-attach';
/** Orphans wait for their graph; the first retry comes soon, later ones back off through the queue. */
export const ORPHAN_RETRY_SECONDS = 30;
