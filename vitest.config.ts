import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(`./packages/${p}`, import.meta.url));

// Tests run against sources (not dist) so packages can be tested without a build order.
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@audiogen\/core\/tflite$/, replacement: src('core/src/tflite/index.ts') },
      { find: /^@audiogen\/core\/test$/, replacement: src('core/src/test/index.ts') },
      { find: /^@audiogen\/core$/, replacement: src('core/src/index.ts') },
      { find: /^@audiogen\/sampler$/, replacement: src('sampler/src/index.ts') },
      { find: /^@audiogen\/audio-io$/, replacement: src('audio-io/src/index.ts') },
      { find: /^@audiogen\/runtime-native$/, replacement: src('runtime-native/src/index.ts') },
      { find: /^@audiogen\/convert$/, replacement: src('convert/src/index.ts') },
      { find: /^@audiogen\/quantize$/, replacement: src('quantize/src/index.ts') },
      { find: /^@audiogen\/stable-audio$/, replacement: src('stable-audio/src/index.ts') },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'examples/*/src/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    pool: 'forks',
  },
});
