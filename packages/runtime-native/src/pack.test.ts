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

// `npm pack` this package (and core, its only workspace dependency), install the tarballs into an empty
// folder with no compiler on PATH, and run a model: the prebuilt addon + libLiteRt.so must just work.
const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const core = resolve(pkg, '..', 'core');
const npmCli = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
const built = existsSync(join(pkg, 'dist', 'prebuilds', `linux-${process.arch}`, 'node.napi.node'));
// The build adds the linux-arm64 prebuild when a cross toolchain is installed, and always in CI.
const inCI = !!process.env.CI && !/^(0|false|no)$/i.test(process.env.CI);
const otherArch = process.arch === 'x64' ? 'arm64' : 'x64';
const builtOther = existsSync(join(pkg, 'dist', 'prebuilds', `linux-${otherArch}`, 'node.napi.node'));
const archs = [process.arch, ...(builtOther || (inCI && otherArch === 'arm64') ? [otherArch] : [])];
const ELF_MACHINE: Record<string, number> = { x64: 62, arm64: 183 };
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
      for (const arch of archs)
        for (const f of ['node.napi.node', 'libLiteRt.so'])
          expect(entries, `${arch} prebuild in the tarball`).toContain(
            `package/dist/prebuilds/linux-${arch}/${f}`,
          );
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
      // Each prebuild is a shared object for its own architecture (ELF e_machine), addon and library.
      for (const arch of archs)
        for (const f of ['node.napi.node', 'libLiteRt.so']) {
          const elf = readFileSync(
            join(app, 'node_modules', '@audiogen', 'runtime-native', 'dist', 'prebuilds', `linux-${arch}`, f),
          );
          expect(elf.readUInt32BE(0), `${arch}/${f}`).toBe(0x7f454c46);
          expect(elf.readUInt16LE(18), `${arch}/${f} e_machine`).toBe(ELF_MACHINE[arch]);
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
