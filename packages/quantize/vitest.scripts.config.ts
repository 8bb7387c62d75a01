// Runs the dev-time scripts in scripts/*.run.ts with the repo's source aliases (no build needed):
//   npx vitest run --config packages/quantize/vitest.scripts.config.ts <name>
import { defineConfig } from 'vitest/config';
import base from '../../vitest.config';

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['packages/quantize/scripts/**/*.run.ts'],
    testTimeout: 3_600_000,
    hookTimeout: 3_600_000,
  },
});
