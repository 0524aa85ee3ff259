// The Export Center calls that change something (profiles, runs, retention, quota): JSON in, JSON out,
// refusals as the API's problem+json. Reads go through getJson.

import { authorisedFetch } from '../../api.ts';
import { ApiError } from '../../api-error.ts';

export async function sendJson<T>(method: 'POST' | 'PUT', path: string, body?: unknown): Promise<T> {
  const response = await authorisedFetch(path, {
    method,
    headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return response.json() as Promise<T>;
}

/** A pasted document: the API takes JSON only, so a paste that is not JSON is refused here with the parser's reason. */
export function parsePastedJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ApiError(
      400,
      'Not a JSON document',
      `The pasted profile is not JSON (${error instanceof Error ? error.message : String(error)}). The API accepts JSON only: convert YAML first (yq -o json).`,
      'invalid_json',
    );
  }
}

export const runPath = (runId: string) => `/api/export/runs/${encodeURIComponent(runId)}`;
export const profilePath = (profileId: string) => `/api/export/profiles/${encodeURIComponent(profileId)}`;
