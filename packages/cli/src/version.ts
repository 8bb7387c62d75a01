import { readFileSync } from 'node:fs';

/** The package's version, read from its own package.json (changesets bumps that file; no copy to forget). */
export const VERSION: string = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
).version;
