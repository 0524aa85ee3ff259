// Regenerates docs/openapi.json, docs/errors.md and docs/config.md from the code.
import { writeFileSync } from 'node:fs';
import { generateDocs } from '@stella/server';

for (const [path, text] of Object.entries(await generateDocs())) {
  writeFileSync(path, text);
  console.error(`wrote ${path}`);
}
