// SPDX-License-Identifier: Apache-2.0
// Whether the upstream marks a stored document withdrawn (OSV `withdrawn`), rejected (CVE 5
// `REJECTED`, NVD `Rejected`) or revoked, exactly as ingest reads it (recognise().withdrawn). The
// envelope does not keep the flag, so a reader of head documents asks here. Documents that do not
// even mention a marker word are answered without parsing: exports read hundreds of thousands.
import { recognise } from '../formats/index.ts';
import type { ContentFormat } from '../formats/types.ts';

const MARKER = /withdrawn|REJECTED|Rejected/;

export function upstreamWithdrawn(raw: string, format: ContentFormat): boolean {
  if (!MARKER.test(raw)) return false;
  try {
    return recognise(JSON.parse(raw), { format }).withdrawn;
  } catch {
    // A stored document always parsed once; one that no longer does is not withdrawn by its upstream.
    return false;
  }
}
