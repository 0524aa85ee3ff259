// Regenerates docs/openapi.json, docs/errors.md and docs/config.md from the code, and the README's
// prerequisites table from the list scripts/prerequisites.ts checks.
import { readFileSync, writeFileSync } from 'node:fs';
import { generateDocs } from '@stella/server';
import { spliceReadmePrerequisites } from '@stella/testkit';

const docs = await generateDocs();
docs['README.md'] = spliceReadmePrerequisites(readFileSync('README.md', 'utf8'));
for (const [path, text] of Object.entries(docs)) {
  writeFileSync(path, text);
  console.error(`wrote ${path}`);
}
