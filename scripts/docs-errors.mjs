// Renders the code tables of docs/reference/errors.md from packages/shared/src/errors/catalogue.ts
// (run through `npm run docs:errors`, which builds first). The shared package's tests fail while
// the page differs from what this writes.
import { readFileSync, writeFileSync } from 'node:fs';
import { updateErrorReference } from '../packages/shared/dist/src/errors/reference.js';

const page = new URL('../docs/reference/errors.md', import.meta.url);
const before = readFileSync(page, 'utf8');
const after = updateErrorReference(before);
if (after === before) console.log('docs/reference/errors.md is up to date');
else {
  writeFileSync(page, after);
  console.log('docs/reference/errors.md rewritten from the error catalogue');
}
