// Form values that survive a re-authorisation: before the console leaves for /authorize, every form's
// current values go to sessionStorage; after the callback each form takes its own back, once.
import { useEffect, useRef, useState } from 'preact/hooks';

const DRAFTS_KEY = 'stella.console.drafts';
const liveForms = new Map<string, () => unknown>();

/** Like useState, but the value is kept across a sign-in redirect under `key`. */
export function useDraft<T>(key: string, initial: T): [T, (value: T) => void] {
  const [value, setValue] = useState<T>(() => takeDraft<T>(key) ?? initial);
  const latest = useRef(value);
  latest.current = value;
  useEffect(() => {
    liveForms.set(key, () => latest.current);
    return () => liveForms.delete(key);
  }, [key]);
  return [value, setValue];
}

/** Writes every mounted form's values; called just before leaving the page to sign in. */
export function saveDrafts(): void {
  if (liveForms.size === 0) return;
  const drafts = Object.fromEntries([...liveForms].map(([key, read]) => [key, read()]));
  sessionStorage.setItem(DRAFTS_KEY, JSON.stringify({ ...readDrafts(), ...drafts }));
}

function takeDraft<T>(key: string): T | undefined {
  const drafts = readDrafts();
  if (!(key in drafts)) return undefined;
  const { [key]: value, ...rest } = drafts;
  if (Object.keys(rest).length) sessionStorage.setItem(DRAFTS_KEY, JSON.stringify(rest));
  else sessionStorage.removeItem(DRAFTS_KEY);
  return value as T;
}

function readDrafts(): Record<string, unknown> {
  try {
    return JSON.parse(sessionStorage.getItem(DRAFTS_KEY) ?? '{}') as Record<string, unknown>;
  } catch {
    return {};
  }
}
