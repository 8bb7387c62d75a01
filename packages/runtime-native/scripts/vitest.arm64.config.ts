// The vitest config of the arm64 lane (scripts/test-arm64.sh): this package's tests, run by the arm64
// node under qemu-aarch64 (user mode) from the repo root, with the root config's aliases.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';
import base from '../../../vitest.config.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const cpu = process.env.ARM64_CPU ?? 'max';
const runDir = process.env.ARM64_RUN_DIR;
const moduleCache = process.env.ARM64_VITEST_CACHE;

// Test files the lane does not run, and why (listed in the README too):
// - pack.test.ts starts child node processes (npm pack/install, then the app). qemu-user does not
//   follow execve: without a binfmt_misc registration (a system-wide change we do not make) the
//   kernel cannot run the arm64 node binary, so every child fails. The linux-arm64 prebuild in the
//   tarball is checked by pack.test.ts on x64 instead, and loaded from dist/ by every test here.
// - arm64.test.ts starts this lane; win32.test.ts starts the Windows lane (an x64 host's Wine).
const excludedFiles = ['src/pack.test.ts', 'src/arm64.test.ts', 'src/win32.test.ts'].map(
  (f) => `packages/runtime-native/${f}`,
);

// Tests run under -cpu max only, and why:
// - "abort and dispose during a run settle cleanly": ~4 full 512³ matmul-chain runs, 85 s under
//   -cpu cortex-a76 (NEON emulated lane by lane) vs 15-40 s under -cpu max; it checks the addon's
//   cancellation and dispose logic, which is the same binary on both CPU models (only LiteRT's kernel
//   choice differs, and the matmul_chain kernels are checked against Python LiteRT on both by "a heavy
//   run keeps the event loop free, and matches Python LiteRT").
const onlyOnMax = ['abort and dispose during a run settle cleanly'];
const reEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const excludedTests = cpu === 'max' ? [] : onlyOnMax;

export default defineConfig({
  ...base,
  root,
  cacheDir: runDir ? join(runDir, `vite-${cpu}`) : undefined,
  test: {
    ...base.test,
    include: ['packages/runtime-native/src/**/*.test.ts'],
    exclude: [...configDefaults.exclude, ...excludedFiles],
    // Threads, not forks: a forked child would be exec'd by the kernel without QEMU (see above).
    pool: 'threads',
    maxWorkers: 1,
    fileParallelism: false,
    // isolate stays on (the default): each file gets its own module graph, as in the native run.
    // Transformed modules cached across lane runs, per CPU model (test-arm64.sh picks the folder).
    ...(moduleCache ? { experimental: { fsModuleCache: true, fsModuleCachePath: moduleCache } } : {}),
    ...(excludedTests.length
      ? { testNamePattern: new RegExp(`^(?!.*(?:${excludedTests.map(reEscape).join('|')}))`) }
      : {}),
  },
});
