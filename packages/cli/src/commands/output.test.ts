// Issue 12 §1 at the CLI: every output path checked before work, every writer typed and lossless on a full or
// read-only disk, --variations complete-or-absent, and kills of a CLI child mid-write.

import { type ChildProcess, spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeWav, writeWav } from '@audiogen/audio-io';
import { writeSafetensors } from '@audiogen/convert';
import type { Runtime } from '@audiogen/core';
import { injectOutputFaults, mountSmallDisk, trackModels } from '@audiogen/core/test';
import { createNativeRuntime } from '@audiogen/runtime-native';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleScript } from '../../../../test/child-script';
import { runConvert } from './convert';
import { type GenerateCliOptions, runGenerate } from './generate';
import { runQuantize } from './quantize';
import { runModel } from './run';
import { useTinyModels } from './test-fixture';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const mlp = here('../../../core/fixtures/mlp.tflite');
const addFc = here('../../../runtime-native/fixtures/add_fc.tflite');
const quiet = { stdout: () => {}, stderr: () => {} };
const fx = useTinyModels('output');
const { dir, models } = fx;

/** Temps of the output layer (.agtmp/.agnew/.agold/.agprobe) left in a folder. */
const temps = (d: string) => readdirSync(d).filter((f) => /\.ag(tmp|new|old|probe)$/.test(f));

const genOpts = (o: Partial<GenerateCliOptions>) =>
  fx.opts({ json: true, seconds: 0.01, steps: 2, seed: 1, ...o });

/** A runtime that records every load attempt (the checks must come before the slow work). */
function spyRuntime(): { createRuntime: () => Runtime; loaded: () => boolean } {
  const t = trackModels(createNativeRuntime());
  return { createRuntime: () => t.rt, loaded: () => t.atLoad.length > 0 };
}

describe('outputs are checked before any work', () => {
  it('generate --out under a file: INVALID_ARGUMENT before any model is loaded (was an untyped ENOTDIR after generating)', async () => {
    writeFileSync(join(dir, 'afile'), 'x');
    const spy = spyRuntime();
    await expect(
      runGenerate('x', genOpts({ out: join(dir, 'afile', 'out.wav') }), { ...quiet, ...spy }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', details: { reason: 'parent-not-folder' } });
    expect(spy.loaded()).toBe(false);
    // --variations: every numbered path is checked (here the third is a folder).
    mkdirSync(join(dir, 'v-3.wav'));
    await expect(
      runGenerate('x', genOpts({ out: join(dir, 'v.wav'), variations: 3 }), { ...quiet, ...spy }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', details: { reason: 'is-folder' } });
    expect(spy.loaded()).toBe(false);
    expect(existsSync(join(dir, 'v-1.wav'))).toBe(false);
  });

  it('quantize in.tflite --out in.tflite is refused and the float model kept (was silently overwritten)', async () => {
    const model = join(dir, 'in.tflite');
    copyFileSync(mlp, model);
    const before = readFileSync(model);
    for (const out of [model, join(dir, '.', 'in.tflite')]) {
      await expect(runQuantize(model, { out, recipe: 'float16' }, quiet)).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        details: { reason: 'output-is-input' },
      });
    }
    expect(readFileSync(model).equals(before)).toBe(true);
    // Two outputs of one command on the same path.
    await expect(
      runQuantize(
        model,
        { out: join(dir, 'q.tflite'), recipe: 'float16', report: join(dir, 'q.tflite') },
        quiet,
      ),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', details: { reason: 'output-repeated' } });
  });

  it('quantize --preset with --out an existing file: INVALID_ARGUMENT (was an untyped EEXIST)', async () => {
    writeFileSync(join(dir, 'not-a-folder'), 'x');
    await expect(
      runQuantize(models, { out: join(dir, 'not-a-folder'), preset: 'default' }, quiet),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', details: { reason: 'not-folder' } });
    await expect(runQuantize(models, { out: models, preset: 'default' }, quiet)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });

  it('convert --out under a file, and an ONNX output equal to its input, are typed', async () => {
    await expect(
      runConvert(
        'stable-audio-open-small',
        { randomWeights: true, tiny: true, out: join(dir, 'afile', 'm') },
        quiet,
      ),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', details: { reason: 'parent-not-folder' } });
    const onnx = join(dir, 'm.onnx');
    copyFileSync(here('../../../convert/fixtures/onnx/mlp.onnx'), onnx);
    await expect(runConvert(onnx, { out: onnx }, quiet)).rejects.toMatchObject({
      details: { reason: 'output-is-input' },
    });
  });
});

describe('--variations: each clip complete or absent', () => {
  it('a failure writing file 3 leaves files 1 and 2 complete, file 3 absent, no temp', async () => {
    const out = join(dir, 'vars', 'clip.wav');
    const restore = injectOutputFaults(async (path, chunk, write) => {
      if (path.endsWith('clip-3.wav')) throw Object.assign(new Error('injected'), { code: 'ENOSPC' });
      // Short writes on the others: the old writer would have left them truncated.
      return write(chunk.subarray(0, Math.min(chunk.length, 1000)));
    });
    try {
      await expect(runGenerate('x', genOpts({ out, variations: 3 }), quiet)).rejects.toMatchObject({
        code: 'IO_ERROR',
        details: { path: join(dir, 'vars', 'clip-3.wav'), errno: 'ENOSPC' },
      });
    } finally {
      restore();
    }
    expect(readdirSync(join(dir, 'vars')).sort()).toEqual(['clip-1.wav', 'clip-2.wav']);
    for (const f of ['clip-1.wav', 'clip-2.wav']) {
      const wav = decodeWav(readFileSync(join(dir, 'vars', f)));
      expect(wav.channels[0]!.length).toBe(Math.round(0.01 * wav.sampleRate));
    }
  });
});

// Real disk full / read-only: a 256 KiB tmpfs (root; CI runs as root on a machine that allows the mount).
const disk = mountSmallDisk(256);
afterAll(() => {
  if (typeof disk !== 'string') disk.unmount();
});
const noDisk = typeof disk === 'string' && !process.env.CI;
if (noDisk) console.warn(`cli output.test: skipping the tmpfs tests: ${disk}`);

describe.skipIf(noDisk)('every writer on a full 256 KiB tmpfs: IO_ERROR, old file intact, no temp', () => {
  const d = () => {
    if (typeof disk === 'string') throw new Error(disk);
    return disk;
  };
  const old = (name: string) => {
    const p = join(d().dir, name);
    writeFileSync(p, `old ${name}`);
    return p;
  };
  const full = (names: string[]) => {
    for (const f of readdirSync(d().dir)) if (f.startsWith('.filler')) rmSync(join(d().dir, f));
    const paths = names.map(old);
    d().fill(0);
    return paths;
  };
  const intact = (paths: string[]) => {
    for (const p of paths) expect(readFileSync(p, 'utf8')).toBe(`old ${p.split('/').pop()}`);
    expect(temps(d().dir)).toEqual([]);
  };
  const ioError = { code: 'IO_ERROR', details: { errno: 'ENOSPC' } };

  it('WAV (generate --out and writeWav)', async () => {
    const [wav] = full(['out.wav']);
    await expect(runGenerate('x', genOpts({ out: wav! }), quiet)).rejects.toMatchObject(ioError);
    const clip = { sampleRate: 44100, channels: [new Float32Array(44100), new Float32Array(44100)] };
    await expect(writeWav(wav!, clip)).rejects.toMatchObject(ioError);
    intact([wav!]);
  });

  it('.tflite (quantize --out, convert model.onnx --out) and the report', async () => {
    const [q, c, r] = full(['q.tflite', 'c.tflite', 'r.json']);
    const big = join(dir, 'attention.tflite');
    copyFileSync(here('../../../core/fixtures/attention.tflite'), big);
    await expect(runQuantize(big, { out: q!, recipe: 'float16' }, quiet)).rejects.toMatchObject(ioError);
    await expect(
      runConvert(here('../../../convert/fixtures/onnx/mlp.onnx'), { out: c!, shape: ['x=2x5x16'] }, quiet),
    ).rejects.toMatchObject(ioError);
    // The model fits elsewhere; the report goes to the full disk.
    const bigReport = { out: join(dir, 'ok.tflite'), recipe: 'dynamic_wi8_afp32', report: r! };
    await expect(runQuantize(big, bigReport, quiet)).rejects.toMatchObject(ioError);
    intact([q!, c!, r!]);
  });

  it('.npy (run --out-dir) and .safetensors', async () => {
    mkdirSync(join(d().dir, 'npy'), { recursive: true });
    const [y, s] = full(['npy/y.npy', 'w.safetensors']);
    const runOpts = {
      input: [],
      randomInputs: true,
      seed: 0,
      fp16: false,
      repeat: 1,
      json: true,
      threads: 1,
    };
    await expect(
      runModel(addFc, { ...runOpts, outDir: join(d().dir, 'npy') }, { stdout: () => {} }),
    ).rejects.toMatchObject(ioError);
    await expect(
      writeSafetensors(s!, { w: { shape: [64, 64], data: new Float32Array(4096) } }),
    ).rejects.toMatchObject(ioError);
    expect(readFileSync(y!, 'utf8')).toBe('old npy/y.npy');
    expect(readdirSync(join(d().dir, 'npy'))).toEqual(['y.npy']);
    intact([s!]);
  });

  it('a model folder (convert over an existing folder) stays the old one', async () => {
    const m = join(d().dir, 'models');
    mkdirSync(m, { recursive: true });
    const [a] = full(['models/conditioners.tflite']);
    await expect(
      runConvert('stable-audio-open-small', { randomWeights: true, tiny: true, out: m }, quiet),
    ).rejects.toMatchObject({ code: 'IO_ERROR' });
    expect(readdirSync(m)).toEqual(['conditioners.tflite']);
    expect(readFileSync(a!, 'utf8')).toBe('old models/conditioners.tflite');
    expect(temps(d().dir)).toEqual([]);
  });

  it('read-only: generate, convert and run refuse before any work (was: only after a full generation)', async () => {
    d().remount(true);
    try {
      const spy = spyRuntime();
      const ro = (p: string) => join(d().dir, p);
      const erofs = { code: 'IO_ERROR', details: { errno: 'EROFS' } };
      await expect(
        runGenerate('x', genOpts({ out: ro('new/out.wav') }), { ...quiet, ...spy }),
      ).rejects.toMatchObject(erofs);
      await expect(
        runGenerate('x', genOpts({ out: ro('out.wav') }), { ...quiet, ...spy }),
      ).rejects.toMatchObject(erofs);
      expect(spy.loaded()).toBe(false);
      await expect(
        runConvert('stable-audio-open-small', { randomWeights: true, tiny: true, out: ro('m2') }, quiet),
      ).rejects.toMatchObject(erofs);
      const runOpts = { input: [], randomInputs: true, seed: 0, fp16: false, repeat: 1, json: true };
      await expect(
        runModel(addFc, { ...runOpts, outDir: ro('npy2') }, { stdout: () => {} }),
      ).rejects.toMatchObject(erofs);
      await expect(
        runQuantize(mlp, { out: ro('q2.tflite'), recipe: 'float16' }, quiet),
      ).rejects.toMatchObject(erofs);
    } finally {
      d().remount(false);
    }
  });
});

// Kills of a real CLI process: the CLI's own code bundled from source (the native runtime stubbed out: convert
// and quantize do not load it), SIGTERM/SIGINT at spread-out moments.
describe('the CLI as a child process', () => {
  let cli: string;
  beforeAll(async () => {
    const entry = join(dir, 'cli-entry.ts');
    const stub = join(dir, 'runtime-stub.ts');
    // Every export of the runtime package, each throwing if used (convert and quantize never call it).
    const names = Object.keys(await import('@audiogen/runtime-native'));
    writeFileSync(
      stub,
      names
        .map((n) => `export const ${n} = () => { throw new Error('no runtime in this test'); };`)
        .join('\n'),
    );
    writeFileSync(
      entry,
      `import { injectOutputFaults, shortWriteFaults } from '@audiogen/core/test';
import { main } from ${JSON.stringify(here('../index.ts'))};
// SLOW_WRITES=1: at most 4 KiB per write(2) call, so a kill lands inside a write.
if (process.env.SLOW_WRITES) injectOutputFaults(shortWriteFaults({ max: 4096 }));
main(process.argv).then((c) => { process.exitCode = c; });
`,
    );
    // Laid out like the package (bin/…, ../package.json), which the CLI reads for its version.
    cli = join(dir, 'bin', 'cli.mjs');
    mkdirSync(join(dir, 'bin'));
    copyFileSync(here('../../package.json'), join(dir, 'package.json'));
    await bundleScript(entry, cli, { replace: { '@audiogen/runtime-native': stub } });
  });

  const stderrOf = new WeakMap<ChildProcess, string[]>();
  const runCli = (args: string[], env: Record<string, string> = {}): ChildProcess => {
    const c = spawn(process.execPath, [cli, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...env },
    });
    const text: string[] = [];
    stderrOf.set(c, text);
    c.stderr!.on('data', (b: Buffer) => text.push(b.toString()));
    return c;
  };
  const exited = (c: ChildProcess) =>
    new Promise<{ code: number | null; signal: string | null }>((r) =>
      c.once('exit', (code, signal) => r({ code, signal })),
    );
  const firstLine = (c: ChildProcess, re: RegExp) =>
    new Promise<void>((r) => {
      let text = '';
      c.stderr!.on('data', (b: Buffer) => {
        text += b.toString();
        if (re.test(text)) r();
      });
    });
  const snapshot = (d: string) =>
    Object.fromEntries(
      readdirSync(d)
        .filter((f) => f !== 'audiogen.json')
        .map((f) => [f, readFileSync(join(d, f)).toString('base64')]),
    );

  it('quantize --out /dev/stdout: the model alone on stdout (messages on stderr), equal to a file output', async () => {
    const work = join(dir, 'stdout');
    mkdirSync(work);
    const ref = join(work, 'ref.tflite');
    const args = ['quantize', mlp, '--recipe', 'float16', '--quiet', '--out'];
    const first = runCli([...args, ref]);
    expect((await exited(first)).code, stderrOf.get(first)!.join('')).toBe(0);
    const c = spawn(process.execPath, [cli, ...args, '/dev/stdout'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let errText = '';
    c.stdout!.on('data', (b: Buffer) => chunks.push(b));
    c.stderr!.on('data', (b: Buffer) => {
      errText += b.toString();
    });
    expect((await exited(c)).code, errText).toBe(0);
    expect(Buffer.concat(chunks).equals(readFileSync(ref))).toBe(true);
    expect(errText).toMatch(/wrote \/dev\/stdout/);
    expect(lstatSync('/dev/stdout').isSymbolicLink()).toBe(true);
  });

  it('quantize --out over an existing model: SIGTERM/SIGINT mid-write leave it intact and no temp', async () => {
    const work = join(dir, 'kill-q');
    mkdirSync(work);
    const src = join(work, 'attention.tflite');
    copyFileSync(here('../../../core/fixtures/attention.tflite'), src);
    const out = join(work, 'out.tflite');
    writeFileSync(out, 'old model');
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      const child = runCli(['quantize', src, '--out', out, '--recipe', 'float16'], { SLOW_WRITES: '1' });
      const done = exited(child);
      await firstLine(child, /writing/);
      child.kill(sig);
      const { signal } = await done;
      expect(signal).toBe(sig);
      expect(readFileSync(out, 'utf8')).toBe('old model');
      expect(readdirSync(work).sort()).toEqual(['attention.tflite', 'out.tflite']);
    }
  });

  it('convert over an existing folder: every kill leaves the old folder or the new one, never a mix, no temps', async () => {
    const work = join(dir, 'kill-c');
    mkdirSync(work);
    const target = join(work, 'models');
    const args = (seed: number, out: string) => [
      'convert',
      'stable-audio-open-small',
      '--random-weights',
      '--tiny',
      '--seed',
      String(seed),
      '--out',
      out,
    ];
    // References: the complete old (seed 1) and new (seed 2) folders.
    for (const [seed, out] of [
      [1, target],
      [2, join(work, 'ref-new')],
    ] as const) {
      const c = runCli(args(seed, out));
      expect((await exited(c)).code, stderrOf.get(c)!.join('')).toBe(0);
    }
    const snaps = { 1: snapshot(target), 2: snapshot(join(work, 'ref-new')) };
    rmSync(join(work, 'ref-new'), { recursive: true });
    expect(snaps[1]).not.toEqual(snaps[2]);
    const timing = runCli(args(1, join(work, 'timing')));
    const timed = exited(timing);
    await firstLine(timing, /conditioners: building/);
    const start = performance.now();
    await timed;
    const runMs = performance.now() - start;
    rmSync(join(work, 'timing'), { recursive: true });
    const same = (a: object, b: object) => JSON.stringify(a) === JSON.stringify(b);
    let state: 1 | 2 = 1;
    const outcomes = { old: 0, new: 0 };
    for (let round = 0; round < 10; round++) {
      // Each run writes the other seed, so old and new content differ in every round.
      const next: 1 | 2 = state === 1 ? 2 : 1;
      const slow = round % 2 === 1;
      const child = runCli(args(next, target), slow ? { SLOW_WRITES: '1' } : {});
      const done = exited(child);
      await firstLine(child, /conditioners: building/);
      await new Promise((r) => setTimeout(r, ((round + 0.5) / 10) * runMs));
      child.kill(round % 3 === 2 ? 'SIGINT' : 'SIGTERM');
      const how = await done;
      const snap = snapshot(target);
      const isOld = same(snap, snaps[state]);
      const isNew = same(snap, snaps[next]);
      expect(isOld || isNew).toBe(true);
      outcomes[isOld ? 'old' : 'new']++;
      if (isNew) state = next;
      expect(
        readdirSync(work),
        `round ${round} ${JSON.stringify(how)} ${stderrOf.get(child)!.join('')}`,
      ).toEqual(['models']);
    }
    // At least one kill landed before the swap, so interrupted runs were exercised.
    expect(outcomes.old).toBeGreaterThan(0);
  }, 90_000);
});
