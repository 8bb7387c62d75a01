#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// In a clone, `npx audiogen` before the first build finds this file but no dist/: say what to do instead of
// printing a module-not-found stack. A published package always has dist/.
const entry = new URL('../dist/index.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('audiogen: the CLI is not built yet (no packages/cli/dist).');
  console.error('Build first, at the repository root: npm run build');
  process.exitCode = 1;
} else {
  // A reader that went away (`audiogen inspect m.tflite | head -1`) is the normal end of a pipe, not a
  // crash: stop quietly, as Unix tools do. Exit handlers still remove temp files of writes in flight.
  process.stdout.on('error', (e) => {
    if (e?.code !== 'EPIPE') throw e;
    process.exit(process.exitCode ?? 0);
  });
  const { main } = await import(entry.href);
  main(process.argv).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      console.error(e?.stack ?? String(e));
      process.exitCode = 1;
    },
  );
}
