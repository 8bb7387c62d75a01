// From the monorepo to an npm app, for real: every public package is published through changesets to a
// private registry on 127.0.0.1 (verdaccio, no uplink), then an empty folder installs them with the README's
// command, runs the README's code example and `npx @audiogen/cli generate`, and TypeScript consumers compile
// against the installed types under every module resolution. Needs the packages built (`npm test` builds).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readWav } from '@audiogen/audio-io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoModels } from '../scripts/demo-models.mjs';
import { type Registry, runtimeClosure, seedThirdParty, startRegistry } from './registry';
import { type Released, releaseWithChangesets } from './release';
import { publishedPackages, ROOT, run } from './workspace';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The README's install line (`npm i @audiogen/…`), as words. */
function readmeInstall(): string[] {
  const m = README.match(/^npm i(?:nstall)? ((?:@audiogen\/[\w-]+ ?)+)/m);
  if (!m) throw new Error('README.md has no `npm i @audiogen/…` line');
  return ['i', ...m[1]!.trim().split(/\s+/)];
}

/** The README's code example: the ```ts block that creates the Stable Audio pipeline. */
function readmeExample(): string {
  const blocks = [...README.matchAll(/```ts\n([\s\S]*?)```/g)].map((b) => b[1]!);
  const code = blocks.find((b) => b.includes('createStableAudioPipeline('));
  if (!code) throw new Error('README.md has no ```ts example with createStableAudioPipeline');
  return code;
}

async function checkWav(file: string) {
  const clip = await readWav(file);
  expect(clip.sampleRate).toBe(44100);
  expect(clip.channels.length).toBe(2);
  for (const ch of clip.channels) {
    expect(ch.length).toBeGreaterThan(0);
    expect(ch.every(Number.isFinite)).toBe(true);
    expect(ch.some((v) => v !== 0)).toBe(true);
  }
}

const work = mkdtempSync(join(tmpdir(), 'audiogen-publish-'));
const app = join(work, 'app');
let registry: Registry | undefined;
let released: Released[] = [];
let seeded = 0;

const npm = (args: string[], cwd = app) => run('npm', args, { cwd, env: registry!.env });
const npx = (args: string[], cwd = app) => run('npx', ['--yes', ...args], { cwd, env: registry!.env });

describe('published packages, installed as the README says', () => {
  beforeAll(async () => {
    registry = await startRegistry(join(work, 'registry'));
    seeded = await seedThirdParty(registry, runtimeClosure(publishedPackages().map((p) => p.location)), work);
    released = releaseWithChangesets(registry, join(work, 'release')).released;
    mkdirSync(app);
    npm(readmeInstall());
    // The README example asks for 10 s: the demo's random-weight folder (tiny widths, full clip length).
    await writeDemoModels(join(app, 'models', 'sao-small'));
  }, 600_000);

  afterAll(async () => {
    await registry?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('publishes every public workspace package at the changesets version, with its LICENSE', () => {
    const expected = publishedPackages().map((p) => p.name);
    expect(released.map((r) => r.name).sort()).toEqual(expected.sort());
    expect(seeded).toBeGreaterThan(0);
    const version = released[0]!.version;
    expect(version).not.toBe('0.0.0'); // bumped by `changeset version` from .changeset/*.md
    for (const r of released) {
      expect(r.version, r.name).toBe(version); // one fixed version group
      const m = JSON.parse(npm(['view', `${r.name}@${r.version}`, '--json'], work)) as {
        dependencies?: Record<string, string>;
        license?: string;
      };
      expect(m.license).toBe('Apache-2.0');
      for (const [dep, range] of Object.entries(m.dependencies ?? {}))
        if (dep.startsWith('@audiogen/')) expect(range, `${r.name} → ${dep}`).toBe(`^${version}`);
    }
    for (const name of readmeInstall().slice(1)) {
      const dir = join(app, 'node_modules', name);
      expect(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version).toBe(version);
      expect(readFileSync(join(dir, 'LICENSE'), 'utf8')).toBe(readFileSync(join(ROOT, 'LICENSE'), 'utf8'));
    }
  });

  it("runs the README's code example in the app", async () => {
    writeFileSync(join(app, 'readme-example.mjs'), readmeExample());
    run(process.execPath, ['readme-example.mjs'], { cwd: app, env: registry!.env });
    await checkWav(join(app, 'rain.wav'));
  });

  it('runs `npx @audiogen/cli convert` and `generate` in the app, and the CLI knows its version', async () => {
    npx([
      '@audiogen/cli',
      'convert',
      'stable-audio-open-small',
      '--random-weights',
      '--tiny',
      '--out',
      'tiny',
    ]);
    expect(existsSync(join(app, 'tiny', 'dit_model.tflite'))).toBe(true);
    const out = npx([
      '@audiogen/cli',
      'generate',
      'rain on a tin roof',
      '--models',
      'models/sao-small',
      '--seed',
      '42',
      '--out',
      'cli.wav',
    ]);
    expect(out).toContain('cli.wav');
    await checkWav(join(app, 'cli.wav'));
    expect(npx(['@audiogen/cli', '--version']).trim()).toBe(released[0]!.version);
  });

  it('`npm i -g @audiogen/cli` installs the `audiogen` command', () => {
    const prefix = join(work, 'global');
    npm(['i', '-g', '@audiogen/cli', '--prefix', prefix]);
    const bin = join(prefix, process.platform === 'win32' ? 'audiogen.cmd' : join('bin', 'audiogen'));
    expect(run(bin, ['--version'], { cwd: work, env: registry!.env }).trim()).toBe(released[0]!.version);
    expect(run(bin, ['samplers'], { cwd: work, env: registry!.env })).toContain('pingpong');
  });

  // Every module resolution TypeScript offers, ESM and CommonJS, against the installed .d.ts/.d.cts files,
  // with skipLibCheck off so an unresolvable import inside our types is an error. One `tsc -b` for all
  // projects (they share parsed files); .mts/.cts files pick ESM/CJS under node16, nodenext and preserve.
  it('TypeScript consumers compile under node10, node16, nodenext and bundler resolution, ESM and CJS', () => {
    const consumer = [
      "import { isAudiogenError, type Runtime } from '@audiogen/core';",
      "import { inspectTflite } from '@audiogen/core/tflite';",
      "import { applyOutputPolicy, writeWav } from '@audiogen/audio-io';",
      "import { createNativeRuntime, type NativeModel } from '@audiogen/runtime-native';",
      "import { createStableAudioPipeline } from '@audiogen/stable-audio';",
      'const runtime: Runtime = createNativeRuntime();',
      'export const used = [isAudiogenError, inspectTflite, applyOutputPolicy, writeWav, createStableAudioPipeline, runtime];',
      'export type Loaded = NativeModel;',
      '',
    ].join('\n');
    const projects: [string, string, string, string[]][] = [
      // name, module, moduleResolution, files (ESM: .mts or .ts under an ES module setting; CJS: .cts / commonjs)
      ['node10-cjs', 'commonjs', 'node10', ['node10-cjs.ts']],
      ['node10-esm', 'es2022', 'node10', ['node10-esm.ts']],
      ['node16', 'node16', 'node16', ['node16-esm.mts', 'node16-cjs.cts']],
      ['nodenext', 'nodenext', 'nodenext', ['nodenext-esm.mts', 'nodenext-cjs.cts', 'readme-example.mts']],
      ['bundler', 'preserve', 'bundler', ['bundler-esm.ts', 'bundler-cjs.cts']],
    ];
    const dir = join(app, 'ts');
    mkdirSync(dir, { recursive: true });
    const configs: string[] = [];
    for (const [name, module, moduleResolution, files] of projects) {
      for (const f of files)
        writeFileSync(join(dir, f), f.startsWith('readme-') ? readmeExample() : consumer);
      const tsconfig = join(dir, `tsconfig.${name}.json`);
      writeFileSync(
        tsconfig,
        JSON.stringify({
          compilerOptions: {
            module,
            moduleResolution,
            target: 'es2022',
            lib: ['es2022'],
            strict: true,
            noEmit: true,
            skipLibCheck: false,
            esModuleInterop: true,
            types: ['node'],
            typeRoots: [join(ROOT, 'node_modules', '@types')],
          },
          files,
        }),
      );
      configs.push(tsconfig);
    }
    expect(existsSync(join(app, 'node_modules', '@audiogen', 'core'))).toBe(true);
    run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', ...configs], {
      cwd: dir,
    });
  });
});
