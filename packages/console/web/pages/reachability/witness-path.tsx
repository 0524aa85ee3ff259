// A witness path drawn as a path: one box per function, entrypoint at the top, each call an arrow down
// to the next, the vulnerable symbol last. Functions seen running carry a mark with their hit count in
// words, not colour alone. The engine writes paths sink first; this draws them in call order.
import './witness-path.css';

export interface WitnessPathProps {
  /** As the API gives it: sink first, entrypoint last. */
  path: readonly string[];
  /** symbolId → runtime hit count, for the functions on the path that were observed. */
  runtimeHits?: ReadonlyMap<string, number>;
  /** What the path leads to, for the list's accessible name. */
  target: string;
}

export function WitnessPath({ path, runtimeHits, target }: WitnessPathProps) {
  const calls = [...path].reverse();
  const last = calls.length - 1;
  return (
    <ol class="witness-path" aria-label={`Witness path to ${target}, entrypoint first`}>
      {calls.map((symbol, i) => {
        const hits = runtimeHits?.get(symbol) ?? 0;
        const role = i === last ? 'Vulnerable symbol' : i === 0 ? 'Entrypoint' : `Call ${i}`;
        return (
          <li key={`${i}:${symbol}`} class={hits > 0 ? 'witness-node witness-hit' : 'witness-node'}>
            <span class="witness-role">{role}</span>
            <code class="witness-symbol">{symbol}</code>
            {hits > 0 && (
              <span class="witness-hit-mark">
                Runtime hit: observed {hits} {hits === 1 ? 'time' : 'times'}
              </span>
            )}
          </li>
        );
      })}
    </ol>
  );
}
