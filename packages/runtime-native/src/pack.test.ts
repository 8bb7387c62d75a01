import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { PREBUILT_PLATFORMS } from './native';

// `npm pack` this package (and core, its only workspace dependency), install the tarballs into an empty
// folder with no compiler on PATH, and run a model: the prebuilt addon + libLiteRt.so must just work.
const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const core = resolve(pkg, '..', 'core');
const npmCli = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
const built = existsSync(join(pkg, 'dist', 'prebuilds', `linux-${process.arch}`, 'node.napi.node'));
// The build adds the other prebuilds when their cross toolchains are installed (aarch64 g++, zig), and
// always in CI: there the tarball must carry all four.
const inCI = !!process.env.CI && !/^(0|false|no)$/i.test(process.env.CI);
const has = (t: string) => existsSync(join(pkg, 'dist', 'prebuilds', t, 'node.napi.node'));
const targets = PREBUILT_PLATFORMS.filter((t) => t === `linux-${process.arch}` || inCI || has(t));
// The first bytes of each file in a prebuild folder: ELF with e_machine, Mach-O 64 with cputype, PE (MZ).
const MAGIC: Record<string, (b: Buffer) => boolean> = {
  'linux-x64': (b) => b.readUInt32BE(0) === 0x7f454c46 && b.readUInt16LE(18) === 62,
  'linux-arm64': (b) => b.readUInt32BE(0) === 0x7f454c46 && b.readUInt16LE(18) === 183,
  'darwin-arm64': (b) => b.readUInt32LE(0) === 0xfeedfacf && b.readUInt32LE(4) === 0x0100000c,
  'win32-x64': (b) => b.readUInt16LE(0) === 0x5a4d && b.readUInt16LE(b.readUInt32LE(0x3c) + 4) === 0x8664,
};
const FILES: Record<string, string[]> = {
  'linux-x64': ['node.napi.node', 'libLiteRt.so'],
  'linux-arm64': ['node.napi.node', 'libLiteRt.so'],
  'darwin-arm64': ['node.napi.node', 'libLiteRt.dylib'],
  'win32-x64': [
    'node.napi.node',
    'libLiteRt.dll',
    'msvcp140.dll',
    'vcruntime140.dll',
    'vcruntime140_1.dll',
    'vcruntime140_threads.dll',
  ],
};
const dir = mkdtempSync(join(tmpdir(), 'audiogen-pack-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(process.platform !== 'linux' || !existsSync(npmCli))(
  'npm pack + install without a compiler',
  () => {
    it('installs the tarball into an empty folder and runs a model', { timeout: 180_000 }, () => {
      expect(built, 'build the package first (npm run build -w @audiogen/runtime-native)').toBe(true);
      const npm = (args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) =>
        execFileSync(process.execPath, [npmCli, ...args], {
          cwd,
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        }).toString();
      const tarballs = join(dir, 'tarballs');
      mkdirSync(tarballs);
      npm(['pack', '--silent', '--pack-destination', tarballs], core);
      npm(['pack', '--silent', '--pack-destination', tarballs], pkg);
      const files = readdirSync(tarballs).map((f) => join(tarballs, f));
      expect(files.length).toBe(2);
      const ours = files.find((f) => f.includes('runtime-native'))!;
      const entries = execFileSync('tar', ['-tzf', ours]).toString().split('\n');
      for (const t of targets)
        for (const f of FILES[t]!)
          expect(entries, `${t} prebuild in the tarball`).toContain(`package/dist/prebuilds/${t}/${f}`);
      // Nothing else under prebuilds/ (no import libraries, .pdb or temp files).
      const extra = entries.filter(
        (e) =>
          e.startsWith('package/dist/prebuilds/') &&
          !targets.some((t) => FILES[t]!.some((f) => e.endsWith(`${t}/${f}`))),
      );
      expect(extra).toEqual([]);
      const pkgJson = JSON.parse(execFileSync('tar', ['-xzOf', ours, 'package/package.json']).toString());
      expect(pkgJson.os).toEqual(['linux', 'darwin', 'win32']);
      expect(pkgJson.cpu).toEqual(['x64', 'arm64']);
      // PATH holds node and nothing else: no g++, no cc, no make, no python.
      const bin = join(dir, 'bin');
      mkdirSync(bin);
      symlinkSync(process.execPath, join(bin, 'node'));
      const env = { HOME: process.env.HOME, PATH: bin, npm_config_cache: process.env.npm_config_cache };
      expect(spawnSync('g++', ['--version'], { env }).error).toBeTruthy();
      const app = join(dir, 'app');
      mkdirSync(app);
      writeFileSync(
        join(app, 'package.json'),
        JSON.stringify({ name: 'app', private: true, type: 'module' }),
      );
      npm(
        ['install', ...files, '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts=false'],
        app,
        env,
      );
      const listing = readdirSync(
        join(app, 'node_modules', '@audiogen', 'runtime-native', 'dist', 'prebuilds'),
      );
      expect(listing).toContain(`linux-${process.arch}`);
      // Each installed prebuild file is a binary for its own OS and architecture.
      for (const t of targets)
        for (const f of FILES[t]!) {
          const b = readFileSync(
            join(app, 'node_modules', '@audiogen', 'runtime-native', 'dist', 'prebuilds', t, f),
          );
          expect(MAGIC[t]!(b), `${t}/${f} format and machine`).toBe(true);
        }
      const model = join(pkg, 'fixtures', 'add_fc.tflite');
      const script = `
      import { createNativeRuntime, describeHost } from '@audiogen/runtime-native';
      const m = await createNativeRuntime({ threads: 1 }).load(${JSON.stringify(model)});
      const out = await m.run({
        x: { dtype: 'float32', shape: [1, 4], data: new Float32Array([1.5, -2, 0.25, 3]) },
        y: { dtype: 'float32', shape: [1, 3], data: new Float32Array([0.5, 1, -1]) },
      });
      console.log(JSON.stringify({ z: Array.from(out.z.data), addon: describeHost().engine.addonPath }));
    `;
      const res = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
        cwd: app,
        env: { PATH: bin, HOME: process.env.HOME },
      }).toString();
      const parsed = JSON.parse(res.trim().split('\n').pop()!);
      // reference from the Python LiteRT runtime (fixtures/reference.json)
      expect(parsed.z[0]).toBeCloseTo(-2.251154661178589, 5);
      expect(parsed.addon).toContain(join(app, 'node_modules'));
    });
  },
);
