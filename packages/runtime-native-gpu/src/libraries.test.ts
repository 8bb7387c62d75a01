// The accelerator libraries this package carries, as files: the right format and machine for each platform,
// the pinned bytes, and nothing linked that a user's machine would lack. macOS and Windows GPUs cannot run
// here, so this is what darwin-arm64 and win32-x64 get before the release workflow's native jobs.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const inCI = !!process.env.CI && !/^(0|false|no)$/i.test(process.env.CI);
const { GPU_PINS } = await import(pathToFileURL(join(pkg, 'scripts', 'fetch-gpu.mjs')).href);
const binfmt = await import(pathToFileURL(join(pkg, '..', 'runtime-native', 'scripts', 'binfmt.mjs')).href);
const lib = (key: string) => join(pkg, 'dist', key, GPU_PINS[key].lib);
const built = (key: string) => existsSync(lib(key));

describe('GPU accelerator libraries (npm run build -w @audiogen/runtime-native-gpu)', () => {
  it('every platform of the runtime has a pin, from the runtime’s own LiteRT release', async () => {
    const { PINS } = await import(
      pathToFileURL(join(pkg, '..', 'runtime-native', 'scripts', 'fetch-litert.mjs')).href
    );
    expect(Object.keys(GPU_PINS).sort()).toEqual(Object.keys(PINS).sort());
    for (const key of Object.keys(GPU_PINS)) expect(GPU_PINS[key].version, key).toBe(PINS[key].version);
    if (inCI)
      for (const key of Object.keys(GPU_PINS)) expect(built(key), `${key} not built in CI`).toBe(true);
  });

  it.skipIf(!built('darwin-arm64'))(
    'darwin-arm64: the pinned Mach-O arm64 dylib, linking only macOS system libraries',
    () => {
      const bytes = readFileSync(lib('darwin-arm64'));
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(GPU_PINS['darwin-arm64'].libSha256);
      const m = binfmt.machO(bytes);
      expect(m.cputype).toBe(binfmt.MACHO.CPU_ARM64);
      expect(m.dylibs).toContain('/System/Library/Frameworks/Metal.framework/Versions/A/Metal');
      for (const d of m.dylibs)
        expect(d, 'a dependency outside macOS').toMatch(/^\/(usr\/lib|System\/Library)\//);
    },
  );

  it.skipIf(!built('win32-x64'))('win32-x64: the pinned x64 DLL, importing only Windows system DLLs', () => {
    const bytes = readFileSync(lib('win32-x64'));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(GPU_PINS['win32-x64'].libSha256);
    const pe = binfmt.peImage(bytes);
    expect(pe.machine).toBe(binfmt.PE.AMD64);
    expect(pe.isDll).toBe(true);
    const dlls = [...(pe.imports instanceof Map ? pe.imports.keys() : Object.keys(pe.imports))] as string[];
    expect(dlls.length).toBeGreaterThan(0);
    // D3D12/Vulkan are loaded at run time by the accelerator itself; nothing beyond Windows is imported.
    for (const d of dlls)
      expect(d, 'a dependency outside Windows').toMatch(
        /^(kernel32|user32|advapi32|dbghelp|api-ms-win-[a-z0-9-]+)\.dll$/i,
      );
  });
});
