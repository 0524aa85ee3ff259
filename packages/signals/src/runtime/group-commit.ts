// Group commit: work items that arrive while a transaction of their key is in flight wait for it, and
// then go together in the next one, so under load many small commits become a few larger ones (one
// fsync, one hash-chain append) while a lone item still starts at once and waits for nobody.
//
// Why lanes: with one lane per key, the next group only starts when the last committed; on a
// database that runs transactions concurrently a second lane lets a group do its statements while the
// first waits for its commit. PGlite runs one transaction at a time, so it gets one lane.
//
// Why isolation on failure: one item can make its group's transaction fail (its CAS write failed, it
// broke a constraint, a deadlock picked it). The others did nothing wrong and must not be refused
// with it, so a failed group of several is committed again item by item: each gets its own outcome,
// and only the item at fault fails. Items are never acknowledged before the transaction that holds
// them committed.

export interface GroupCommitOptions {
  /** Groups of one key in flight at once. */
  lanes: number;
  /** Items in one group at most. */
  maxGroup: number;
  /** Told the size of every group committed (a metric). */
  onGroup?: (size: number) => void;
}

export interface GroupCommitter<T, R> {
  /** Settles with the item's own outcome once the transaction that holds it committed (or failed). */
  submit(key: string, item: T): Promise<R>;
}

interface Waiting<T, R> {
  item: T;
  resolve(result: R): void;
  reject(error: unknown): void;
}

interface KeyState<T, R> {
  queue: Waiting<T, R>[];
  inFlight: number;
}

/**
 * `commit(key, items)` runs one transaction over `items` and returns one outcome per item, in
 * order; it throws when the transaction did not commit.
 */
export function createGroupCommitter<T, R>(
  commit: (key: string, items: readonly T[]) => Promise<R[]>,
  options: GroupCommitOptions,
): GroupCommitter<T, R> {
  const keys = new Map<string, KeyState<T, R>>();

  async function run(key: string, group: Waiting<T, R>[]): Promise<void> {
    try {
      const results = await commit(
        key,
        group.map((w) => w.item),
      );
      options.onGroup?.(group.length);
      for (const [i, waiting] of group.entries()) waiting.resolve(results[i]!);
    } catch (error) {
      if (group.length === 1) {
        group[0]!.reject(error);
        return;
      }
      for (const waiting of group) await run(key, [waiting]);
    }
  }

  function pump(key: string, state: KeyState<T, R>): void {
    while (state.inFlight < options.lanes && state.queue.length > 0) {
      const group = state.queue.splice(0, options.maxGroup);
      state.inFlight++;
      void run(key, group).finally(() => {
        state.inFlight--;
        if (state.inFlight === 0 && state.queue.length === 0) keys.delete(key);
        else pump(key, state);
      });
    }
  }

  return {
    submit(key, item) {
      const state = keys.get(key) ?? { queue: [], inFlight: 0 };
      keys.set(key, state);
      const settled = new Promise<R>((resolve, reject) => state.queue.push({ item, resolve, reject }));
      pump(key, state);
      return settled;
    },
  };
}
