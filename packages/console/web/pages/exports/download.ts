// A bundle download as the console does it: fetched with the bearer token (a plain link could not
// send it), hashed in the browser so the operator sees that the bytes are the run's bundle digest,
// then saved through a blob: URL (a download is not a fetch or a navigation the CSP restricts).
import { authorisedFetch } from '../../api.ts';
import { runPath } from './requests.ts';

export interface SavedBundle {
  fileName: string;
  bytes: number;
  digest: string;
  /** The blob: URL handed to the browser; revoke it when the page goes. */
  url: string;
}

export async function downloadBundle(runId: string, fallbackName: string): Promise<SavedBundle> {
  const response = await authorisedFetch(`${runPath(runId)}/download`, { headers: { accept: '*/*' } });
  const fileName = fileNameOf(response.headers.get('content-disposition')) ?? fallbackName;
  // Held in memory whole: bundles the console downloads are hashed before they are saved, and the
  // CLI (`stella export download`, with Range resume) is the tool for bundles too big for that.
  const blob = await response.blob();
  const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer()));
  const digest = `sha256:${Array.from(hash, (b) => b.toString(16).padStart(2, '0')).join('')}`;
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  return { fileName, bytes: blob.size, digest, url };
}

function fileNameOf(disposition: string | null): string | undefined {
  const name = disposition ? /filename="([^"]+)"/.exec(disposition)?.[1] : undefined;
  // The server names bundles itself; still, a path separator never reaches the save dialog.
  return name?.replace(/[/\\]/g, '_');
}
