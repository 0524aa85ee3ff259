// Lattice v1 (spec §1.4): a bounded join-lattice of 8 states with Unknown at the bottom and Contested
// at the top. Static and runtime evidence are joined; evidence that contradicts becomes Contested.

export const LATTICE_STATES = [
  'Unknown',
  'StaticallyReachable',
  'StaticallyUnreachable',
  'RuntimeObserved',
  'RuntimeUnobserved',
  'ConfirmedReachable',
  'ConfirmedUnreachable',
  'Contested',
] as const;
export type LatticeState = (typeof LATTICE_STATES)[number];

type Short = 'U' | 'SR' | 'SU' | 'RO' | 'RU' | 'CR' | 'CU' | 'X';
const SHORT: Record<LatticeState, Short> = {
  Unknown: 'U',
  StaticallyReachable: 'SR',
  StaticallyUnreachable: 'SU',
  RuntimeObserved: 'RO',
  RuntimeUnobserved: 'RU',
  ConfirmedReachable: 'CR',
  ConfirmedUnreachable: 'CU',
  Contested: 'X',
};
const LONG = Object.fromEntries(Object.entries(SHORT).map(([k, v]) => [v, k])) as Record<Short, LatticeState>;

// One row per unordered pair of distinct non-bottom, non-top states.
const PAIRS: Record<string, Short> = {
  'SR|SU': 'X',
  'SR|RU': 'X',
  'SR|CU': 'X',
  'SR|RO': 'CR',
  'SR|CR': 'CR',
  'SU|RO': 'X',
  'SU|CR': 'X',
  'SU|RU': 'CU',
  'SU|CU': 'CU',
  'RO|RU': 'X',
  'RO|CU': 'X',
  'RO|CR': 'CR',
  'RU|CR': 'X',
  'RU|CU': 'CU',
  'CR|CU': 'X',
};

export function join(a: LatticeState, b: LatticeState): LatticeState {
  const x = SHORT[a];
  const y = SHORT[b];
  if (x === y) return a;
  if (x === 'U') return b;
  if (y === 'U') return a;
  if (x === 'X' || y === 'X') return 'Contested';
  const result = PAIRS[`${x}|${y}`] ?? PAIRS[`${y}|${x}`];
  if (!result) throw new Error(`lattice: no join for ${a} and ${b}`);
  return LONG[result];
}

export function joinAll(states: Iterable<LatticeState>): LatticeState {
  let out: LatticeState = 'Unknown';
  for (const s of states) out = join(out, s);
  return out;
}
