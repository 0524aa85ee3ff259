// Where the shared advisory fixtures are: STELLA_FIXTURES_DIR, else ../shared/fixtures/advisories next
// to the repository (the workspace layout), else /work/shared (a clone checked out elsewhere).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

export function advisoryFixtures(): string {
  const candidates = [
    process.env.STELLA_FIXTURES_DIR,
    fileURLToPath(new URL('../../../../shared/fixtures/advisories', import.meta.url)),
    '/work/shared/fixtures/advisories',
  ].filter((c): c is string => Boolean(c));
  const found = candidates.find((c) => existsSync(`${c}/MANIFEST.tsv`));
  if (!found) {
    throw new Error(`advisory fixtures not found (looked in ${candidates.join(', ')}); set STELLA_FIXTURES_DIR`);
  }
  return found;
}

/** The fixtures directory as a file: URL with a trailing slash, for `new URL(relative, base)`. */
export function advisoryFixturesUrl(): URL {
  return pathToFileURL(`${advisoryFixtures()}/`);
}
