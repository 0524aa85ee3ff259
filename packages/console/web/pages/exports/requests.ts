// The Export Center calls that change something (profiles, runs, retention, quota): JSON in, JSON out,
// refusals as the API's problem+json. Reads go through getJson.

import { authorisedFetch } from '../../api.ts';

export async function sendJson<T>(method: 'POST' | 'PUT', path: string, body?: unknown): Promise<T> {
  const response = await authorisedFetch(path, {
    method,
    headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return response.json() as Promise<T>;
}

/**
 * A pasted profile document, sent as typed: the API parses YAML (and so JSON) itself and answers a
 * document it cannot read with a coded problem naming the line and column.
 */
export async function sendDocument<T>(method: 'POST' | 'PUT', path: string, text: string): Promise<T> {
  const response = await authorisedFetch(path, {
    method,
    headers: { accept: 'application/json', 'content-type': 'application/yaml' },
    body: text,
  });
  return response.json() as Promise<T>;
}

export const runPath = (runId: string) => `/api/export/runs/${encodeURIComponent(runId)}`;
export const profilePath = (profileId: string) => `/api/export/profiles/${encodeURIComponent(profileId)}`;
