import type { Options } from 'tsup';

// One build shape for every package: ESM + CJS + .d.ts, Node 20, sourcemaps.
// Workspace packages stay external so each package ships only its own code.
export function packageConfig(entry: Record<string, string>, overrides: Partial<Options> = {}): Options {
  return {
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    platform: 'node',
    splitting: false,
    external: [/^@audiogen\//],
    ...overrides,
  };
}
