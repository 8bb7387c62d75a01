import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

// The arm64 QEMU lane is one small file that runs for minutes; vitest orders files it has no timings for by
// size, which would start it last. Start it first so it overlaps the rest on CI's fresh clone.
class LongLaneFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => (f.moduleId.endsWith('arm64.test.ts') ? 0 : 1);
    return [...sorted].sort((a, b) => rank(a) - rank(b));
  }
}

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
      { find: /^@audiogen\/hub\/test$/, replacement: src('hub/src/test/index.ts') },
      { find: /^@audiogen\/hub$/, replacement: src('hub/src/index.ts') },
      { find: /^@audiogen\/stable-audio$/, replacement: src('stable-audio/src/index.ts') },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'examples/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    pool: 'forks',
    sequence: { sequencer: LongLaneFirst },
  },
});
