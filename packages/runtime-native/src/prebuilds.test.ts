// The four prebuilds as files: what each links, and that every symbol it imports has a provider. The
// darwin-arm64 prebuild cannot run here (no macOS), so these checks are all it gets before the macOS job
// of the release workflow; win32-x64 is also run under Wine (win32.test.ts).
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LITERT_LIB_SHA256, LITERT_VERSIONS } from './host';
import { noPrebuildMessage, PREBUILT_PLATFORMS } from './native';

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const root = resolve(pkg, '..', '..');
const prebuilds = join(pkg, 'dist', 'prebuilds');
const inCI = !!process.env.CI && !/^(0|false|no)$/i.test(process.env.CI);
const script = (f: string) => pathToFileURL(join(pkg, 'scripts', f)).href;

interface MachO {
  cputype: number;
  filetype: number;
  dylibs: string[];
  rpaths: string[];
  id: string | null;
  signature: { offset: number; size: number } | null;
  exports: Set<string>;
  undefinedSymbols: { name: string; ordinal: number }[];
  binds: Map<string, number>;
}
interface PeImage {
  machine: number;
  isDll: boolean;
  exports: Set<string>;
  imports: Map<string, string[]>;
}
interface Binfmt {
  machO(buf: Buffer): MachO;
  verifyCodeSignature(
    buf: Buffer,
    sig: MachO['signature'],
  ): { adhoc: boolean; pages: number; identifier: string; hash: string };
  tbdSymbols(text: string): Set<string>;
  peImage(buf: Buffer): PeImage;
  MACHO: Record<string, number>;
  PE: Record<string, number>;
}
interface Pin {
  version: string;
  libSha256: string;
  lib: string;
}
interface FetchLiteRt {
  PINS: Record<string, Pin>;
  MSVC_RUNTIME: { files: Record<string, string> };
  REQUIRED_SYMBOLS: string[];
}
const binfmt = (await import(script('binfmt.mjs'))) as Binfmt;
const fetchLiteRt = (await import(script('fetch-litert.mjs'))) as FetchLiteRt;
const sha256 = async (b: Buffer) =>
  (await import('node:crypto')).createHash('sha256').update(b).digest('hex');

/** A prebuild folder, or why it is missing (a failure in CI, a printed skip elsewhere). */
function prebuild(target: string): string | null {
  const dir = join(prebuilds, target);
  if (existsSync(join(dir, 'node.napi.node'))) return dir;
  if (inCI) return dir; // the test then fails on the missing file
  console.log(`${target} prebuild checks skipped: no ${target} prebuild in dist/ (zig not installed?)`);
  return null;
}

/** zig's libSystem.tbd (the symbols macOS's libSystem exports), beside the zig that setup-dev.sh linked. */
function libSystemTbd(): string | null {
  const zig = join(root, '.venv', 'bin', 'zig');
  if (!existsSync(zig)) return null;
  const f = join(dirname(realpathSync(zig)), 'lib', 'libc', 'darwin', 'libSystem.tbd');
  return existsSync(f) ? f : null;
}

const nodeApiNames = () => {
  const def = readFileSync(
    join(dirname(fileURLToPath(import.meta.resolve('node-api-headers/package.json'))), 'def', 'node_api.def'),
    'utf8',
  );
  return new Set(
    def
      .split(/\r?\n/)
      .slice(2)
      .map((l) => l.trim())
      .filter(Boolean),
  );
};

describe('platforms', () => {
  it('the pins, the host report, the package fields and the loader name the same four platforms', () => {
    const pins = fetchLiteRt.PINS;
    expect(Object.keys(pins).sort()).toEqual([...PREBUILT_PLATFORMS].sort());
    for (const t of PREBUILT_PLATFORMS) {
      expect(LITERT_LIB_SHA256[t], t).toBe(pins[t]!.libSha256);
      expect(LITERT_VERSIONS[t], t).toBe(pins[t]!.version);
    }
    const json = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as {
      os: string[];
      cpu: string[];
    };
    expect([...json.os].sort()).toEqual([...new Set(PREBUILT_PLATFORMS.map((t) => t.split('-')[0]))].sort());
    expect([...json.cpu].sort()).toEqual([...new Set(PREBUILT_PLATFORMS.map((t) => t.split('-')[1]))].sort());
  });

  it('"no prebuild" says what is supported and what to do, in words for an npm user', () => {
    for (const [platform, arch] of [
      ['darwin', 'x64'],
      ['win32', 'arm64'],
      ['freebsd', 'x64'],
      ['linux', 'ia32'],
    ] as const) {
      const m = noPrebuildMessage(platform, arch, []);
      expect(m).toContain(`${platform}-${arch}`);
      for (const t of PREBUILT_PLATFORMS) expect(m).toContain(t);
      expect(m).not.toMatch(/npm run|\s-w\s|--workspace|monorepo|turbo/);
    }
    expect(noPrebuildMessage('darwin', 'x64', [])).toContain('Rosetta');
    // A supported platform whose prebuild does not load: reinstall, with the loader's own reason.
    const m = noPrebuildMessage('win32', 'x64', ['dist: The specified module could not be found.']);
    expect(m).toContain('dist/prebuilds/win32-x64/');
    expect(m).toContain('could not be found');
    expect(m).toMatch(/reinstall/);
    expect(m).not.toMatch(/npm run|\s-w\s|--workspace|monorepo|turbo/);
  });
});

describe('darwin-arm64 prebuild (built here, not run here)', () => {
  const dir = prebuild('darwin-arm64');
  it.skipIf(!dir)('is a signed arm64 Mach-O that loads libLiteRt.dylib from beside itself', async () => {
    const buf = readFileSync(join(dir!, 'node.napi.node'));
    const m = binfmt.machO(buf);
    expect(m.cputype).toBe(binfmt.MACHO.CPU_ARM64);
    expect(m.filetype).toBe(binfmt.MACHO.MH_DYLIB); // zig writes no MH_BUNDLE; dlopen takes both
    expect(m.dylibs).toEqual(['@rpath/libLiteRt.dylib', '/usr/lib/libSystem.B.dylib']);
    expect(m.rpaths).toEqual(['@loader_path']);
    expect(m.id).toBe('@rpath/node.napi.node'); // no path of the build machine
    expect(buf.includes(Buffer.from(root))).toBe(false);
    // arm64 macOS kills unsigned code: an ad-hoc signature whose page hashes match the file.
    const sig = binfmt.verifyCodeSignature(buf, m.signature);
    expect(sig).toMatchObject({ adhoc: true, identifier: 'node.napi.node', hash: 'sha256' });
    expect(sig.pages).toBeGreaterThan(0);
    const tampered = Buffer.from(buf);
    tampered[0x4000 + 17]! ^= 1; // one bit of code changed: the signature no longer matches
    expect(() => binfmt.verifyCodeSignature(tampered, m.signature)).toThrow(/page 1 does not match/);

    const lib = readFileSync(join(dir!, 'libLiteRt.dylib'));
    expect(await sha256(lib)).toBe(fetchLiteRt.PINS['darwin-arm64']!.libSha256);
    const l = binfmt.machO(lib);
    expect(l.id).toBe('@rpath/libLiteRt.dylib');
    // LiteRT itself needs only what every Mac has: nothing else to ship.
    for (const d of l.dylibs) expect(d).toMatch(/^(\/usr\/lib\/|\/System\/Library\/Frameworks\/)/);
    expect(binfmt.verifyCodeSignature(lib, l.signature).adhoc).toBe(true);
  });

  const tbd = libSystemTbd();
  it.skipIf(!dir || (!tbd && !inCI))(
    'every undefined symbol resolves: LiteRT from libLiteRt.dylib, Node-API from node, the rest from libSystem',
    () => {
      const m = binfmt.machO(readFileSync(join(dir!, 'node.napi.node')));
      const litert = binfmt.machO(readFileSync(join(dir!, 'libLiteRt.dylib'))).exports;
      const system = binfmt.tbdSymbols(readFileSync(tbd!, 'utf8'));
      const napi = nodeApiNames();
      const from: Record<string, string[]> = { litert: [], napi: [], system: [], self: [] };
      const unresolved: string[] = [];
      for (const { name, ordinal: symtabOrdinal } of m.undefinedSymbols) {
        // dyld binds by the bind opcodes' ordinal; the symbol table's is the fallback (same library).
        const ordinal = m.binds.get(name) ?? symtabOrdinal;
        const dylib = ordinal > 0 ? m.dylibs[ordinal - 1] : undefined;
        if (dylib === '@rpath/libLiteRt.dylib' && litert.has(name)) from.litert!.push(name);
        else if (dylib === '/usr/lib/libSystem.B.dylib' && system.has(name)) from.system!.push(name);
        else if ((ordinal === -2 || ordinal === 0) && napi.has(name.slice(1))) from.napi!.push(name);
        else unresolved.push(`${name} (ordinal ${ordinal})`);
      }
      // Weak C++ definitions (operator new/delete, typeinfo) are bound to the addon itself.
      for (const [name, ordinal] of m.binds)
        if (ordinal === 0 && !name.startsWith('_napi')) from.self!.push(name);
      expect(unresolved).toEqual([]);
      // Node-API is looked up in the process (flat lookup: -undefined dynamic_lookup), never in a dylib.
      for (const n of from.napi!) expect(m.binds.get(n) ?? -2, n).toBe(-2);
      const usedLiteRt = from.litert!.map((n) => n.slice(1));
      for (const n of usedLiteRt) expect(fetchLiteRt.REQUIRED_SYMBOLS, n).toContain(n);
      expect(usedLiteRt.length).toBeGreaterThanOrEqual(30);
      expect(from.napi!.length).toBeGreaterThanOrEqual(50);
      expect(from.system!.length).toBeGreaterThan(50);
    },
  );
});

describe('win32-x64 prebuild', () => {
  const dir = prebuild('win32-x64');
  const SYSTEM = /^(kernel32\.dll|api-ms-win-crt-[a-z]+-l1-1-0\.dll)$/i;
  it.skipIf(!dir)('ships exactly the addon, libLiteRt.dll and the MSVC runtime DLLs it imports', async () => {
    const files = readdirSync(dir!).sort();
    const msvc = fetchLiteRt.MSVC_RUNTIME.files;
    expect(files).toEqual(['libLiteRt.dll', 'node.napi.node', ...Object.keys(msvc)].sort());
    expect(await sha256(readFileSync(join(dir!, 'libLiteRt.dll')))).toBe(
      fetchLiteRt.PINS['win32-x64']!.libSha256,
    );
    for (const [f, hash] of Object.entries(msvc))
      expect(await sha256(readFileSync(join(dir!, f))), f).toBe(hash);
  });

  it.skipIf(!dir)('every DLL import resolves to a shipped file or a Windows system DLL', () => {
    const images = new Map(
      readdirSync(dir!).map((f) => [f.toLowerCase(), binfmt.peImage(readFileSync(join(dir!, f)))] as const),
    );
    const napi = nodeApiNames();
    const addon = images.get('node.napi.node')!;
    expect(addon.machine).toBe(binfmt.PE.AMD64);
    expect(addon.isDll).toBe(true);
    expect(addon.exports.has('napi_register_module_v1')).toBe(true);
    const seen: string[] = [];
    for (const [file, img] of images) {
      for (const [dll, names] of img.imports) {
        const key = dll.toLowerCase();
        seen.push(`${file}→${key}`);
        if (key === 'node.exe') {
          expect(file).toBe('node.napi.node');
          for (const n of names) expect(napi.has(n), `${n} is Node-API`).toBe(true);
        } else if (images.has(key)) {
          const provider = images.get(key)!;
          for (const n of names)
            expect(provider.exports.has(n), `${file} imports ${n} from ${dll}`).toBe(true);
        } else {
          expect(dll, `${file} imports ${dll}: neither shipped nor part of Windows`).toMatch(SYSTEM);
        }
      }
    }
    // What the folder exists for: the addon links LiteRT, LiteRT the four MSVC runtime DLLs beside it.
    expect(seen).toContain('node.napi.node→liblitert.dll');
    for (const f of Object.keys(fetchLiteRt.MSVC_RUNTIME.files)) expect(seen).toContain(`liblitert.dll→${f}`);
  });
});
