// Runs a load now and again every interval while the component is mounted, one at a time: a slow
// server gets no pile-up of overlapping requests.
import { useEffect } from 'preact/hooks';

export function usePolling(load: () => Promise<void>, intervalMs: number): void {
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      await load();
      if (!stopped) timer = setTimeout(tick, intervalMs);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, []);
}
