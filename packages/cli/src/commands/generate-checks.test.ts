import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspectWav, writeWav } from '@audiogen/audio-io';
import { audioClip, type Model, type Runtime } from '@audiogen/core';
import { mountSmallDisk, trackModels } from '@audiogen/core/test';
import { createNativeRuntime } from '@audiogen/runtime-native';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../index';
import { type GenerateCliOptions, runGenerate } from './generate';
import { useTinyModels } from './test-fixture';

const bin = fileURLToPath(new URL('../../bin/audiogen.js', import.meta.url));
const isRoot = process.getuid?.() === 0;

describe('audiogen generate checks everything before it loads or prints', () => {
  const { dir, models, opts } = useTinyModels('checks');
  const wav = join(dir, 'in.wav');
  beforeAll(() => writeWav(wav, audioClip(44100, [new Float32Array(4410).fill(0.1)])));

  /** Runs with a model-tracking runtime and captured output; returns the error, the loads and the output. */
  async function refused(o: Partial<GenerateCliOptions>) {
    const t = trackModels(createNativeRuntime());
    const lines: string[] = [];
    const e = await runGenerate('rain', opts(o), {
      createRuntime: () => t.rt,
      stdout: (l) => lines.push(l),
      stderr: (l) => lines.push(l),
    }).then(
      () => undefined,
      (x: unknown) => x as { code: string; message: string },
    );
    return { e, loads: t.models.length, lines };
  }

  it('bad options: typed errors in the flags’ words, no model loaded, nothing printed', async () => {
    const cases: [Partial<GenerateCliOptions>, string, RegExp][] = [
      [{ seconds: 0 }, 'INVALID_ARGUMENT', /^--seconds must be in \(0, \d+\.\d{4}\]/],
      [{ seconds: 1000 }, 'INVALID_ARGUMENT', /^--seconds must be in/],
      [{ seconds: 1e-7 }, 'INVALID_ARGUMENT', /^--seconds .*no audio frame/],
      [{ seed: 2 ** 32 }, 'INVALID_ARGUMENT', /^--seed must be an integer in \[0, 2\^32\)/],
      [{ sampler: 'bogus' }, 'NOT_FOUND', /^--sampler: unknown sampler 'bogus'/],
      [{ initAudio: wav, initNoise: 1.5 }, 'INVALID_ARGUMENT', /^--init-noise must be a number in \(0, 1\]/],
      [{ initNoise: 0.5 }, 'INVALID_ARGUMENT', /^--init-noise needs --init-audio$/],
      [{ initAudio: join(dir, 'missing.wav') }, 'MISSING_FILE', /^--init-audio: .*missing\.wav/],
      [{ steps: 2000 }, 'INVALID_ARGUMENT', /^--steps /],
      [{ out: models }, 'INVALID_ARGUMENT', /is a folder/],
      [{ out: join(wav, 'x.wav') }, 'INVALID_ARGUMENT', /in\.wav/],
      [{ out: join(models, 'dit_model.tflite') }, 'INVALID_ARGUMENT', /dit_model\.tflite/],
    ];
    for (const [o, code, re] of cases) {
      const r = await refused(o);
      expect(r.e, JSON.stringify(o)).toBeDefined();
      expect([r.e!.code, r.e!.message]).toEqual([code, expect.stringMatching(re)]);
      expect(r.loads).toBe(0);
      expect(r.lines).toEqual([]);
    }
  });

  it.skipIf(isRoot)('a read-only output folder is refused before loading (non-root: chmod)', async () => {
    const ro = join(dir, 'ro');
    mkdirSync(ro);
    chmodSync(ro, 0o555);
    const r = await refused({ out: join(ro, 'x.wav') });
    expect(r.e?.code).toBe('IO_ERROR');
    expect(r.loads).toBe(0);
  });

  const disk = isRoot ? mountSmallDisk(64) : 'not root';
  afterAll(() => {
    if (typeof disk !== 'string') disk.unmount();
  });
  it.skipIf(typeof disk === 'string')(
    'a read-only filesystem is refused before loading (root: tmpfs)',
    async () => {
      if (typeof disk === 'string') return;
      disk.remount(true);
      try {
        const r = await refused({ out: join(disk.dir, 'x.wav') });
        expect(r.e).toMatchObject({ code: 'IO_ERROR', message: expect.stringMatching(/read-only/) });
        expect(r.loads).toBe(0);
        expect(r.lines).toEqual([]);
      } finally {
        disk.remount(false);
      }
    },
  );

  it('--negative with --cfg 1 warns in the flags’ words', async () => {
    const errs: string[] = [];
    await runGenerate('rain', opts({ negative: 'noise', seed: 1, steps: 2, out: join(dir, 'neg.wav') }), {
      stdout: () => {},
      stderr: (l) => errs.push(l),
    });
    expect(errs.slice(0, 2)).toEqual([
      'seed 1',
      'warning: --negative is ignored: --cfg is 1 (guidance off); set --cfg above 1 to use it',
    ]);
  });

  it('--json: errors are one JSON line on stdout with code and message, exit 1', async () => {
    for (const args of [['--seconds', '0'], ['--seconds', 'abc'], ['--no-such-flag']]) {
      const out: string[] = [];
      const err: string[] = [];
      const code = await main(
        ['node', 'audiogen', 'generate', 'rain', '--models', models, ...args, '--json'],
        {
          stdout: (l) => out.push(l),
          stderr: (l) => err.push(l),
        },
      );
      expect(code).toBe(1);
      expect(out.length).toBe(1);
      const j = JSON.parse(out[0]!);
      expect(j.error.code).toBe('INVALID_ARGUMENT');
      expect(j.error.message).toMatch(args[0] === '--no-such-flag' ? /no-such-flag/ : /--seconds/);
      expect(err).toEqual([]);
    }
  });

  it('the built CLI: --json writes one JSON line and nothing on stderr (no LiteRT INFO line); lines off a TTY', () => {
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [bin, 'generate', 'rain', '--models', models, '--steps', '2', ...args], {
        encoding: 'utf8',
      });
    const j = run('--seed', '3', '--out', join(dir, 'j.wav'), '--json');
    expect(j.status, j.stderr).toBe(0);
    expect(j.stderr).toBe('');
    expect(JSON.parse(j.stdout.trim()).files).toEqual([join(dir, 'j.wav')]);
    const bad = run('--seconds', '0', '--json');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toBe('');
    expect(JSON.parse(bad.stdout.trim()).error.code).toBe('INVALID_ARGUMENT');
    // Not a TTY: a line per stage/step with percentage and time; --quiet: none.
    const lines = run('--seed', '3', '--out', join(dir, 'l.wav'));
    expect(lines.status, lines.stderr).toBe(0);
    expect(lines.stderr).toMatch(/^\[\s*\d+\.\ds\]\s+50% denoise 1\/2 · \d+ ms\/step$/m);
    expect(lines.stderr).toMatch(/^\[\s*\d+\.\ds\]\s+100% load dit done · \d+ ms$/m);
    expect(lines.stderr).not.toMatch(/INFO/);
    const quiet = run('--seed', '3', '--out', join(dir, 'q.wav'), '--quiet');
    expect(quiet.stderr).not.toMatch(/%/);
  });

  it('Ctrl-C during --variations keeps the finished clips, each complete', async () => {
    let sigint: (() => void) | undefined;
    let ditRuns = 0;
    const signals = {
      on: (_: string, h: () => void) => {
        sigint = h;
        return process;
      },
      off: () => process,
    } as unknown as Pick<NodeJS.Process, 'on' | 'off'>;
    const native = createNativeRuntime();
    const runtime: Runtime = {
      name: 'wrapped',
      async load(src, o) {
        const m = await native.load(src, o);
        if (o?.label !== 'dit') return m;
        const wrapped: Model = Object.create(m);
        wrapped.run = async (inp, ro) => {
          if (++ditRuns === 5) sigint?.(); // variation 3, step 1 (2 steps each)
          return m.run(inp, ro);
        };
        return wrapped;
      },
    };
    const out = join(dir, 'vars', 'clip.wav');
    const e = await runGenerate('x', opts({ seed: 3, steps: 2, variations: 4, out }), {
      createRuntime: () => runtime,
      signals,
      stdout: () => {},
      stderr: () => {},
    }).then(
      () => undefined,
      (x: unknown) => x as { code: string; message: string; details: { files: string[] } },
    );
    expect(e?.code).toBe('ABORTED');
    const kept = [join(dir, 'vars', 'clip-1.wav'), join(dir, 'vars', 'clip-2.wav')];
    expect(e?.details.files).toEqual(kept);
    expect(e?.message).toMatch(/kept .*clip-1\.wav, .*clip-2\.wav \(2 of 4 clips\)/);
    expect(readdirSync(join(dir, 'vars')).sort()).toEqual(['clip-1.wav', 'clip-2.wav']);
    expect(existsSync(join(dir, 'vars', 'clip-3.wav'))).toBe(false);
    // Each kept file is the complete clip: byte-identical to an uninterrupted run of the same seeds.
    const full = join(dir, 'full', 'clip.wav');
    await runGenerate('x', opts({ seed: 3, steps: 2, variations: 2, out: full }), {
      stdout: () => {},
      stderr: () => {},
    });
    for (const [i, f] of kept.entries()) {
      expect(inspectWav(readFileSync(f)).frames).toBeGreaterThan(0);
      expect(readFileSync(f).equals(readFileSync(join(dir, 'full', `clip-${i + 1}.wav`)))).toBe(true);
    }
  });

  it('a bad model inside the folder names the file, before anything is printed', async () => {
    const bad = join(dir, 'bad-models');
    mkdirSync(bad);
    for (const f of readdirSync(models)) writeFileSync(join(bad, f), readFileSync(join(models, f)));
    writeFileSync(join(bad, 'autoencoder_model.tflite'), 'garbage');
    const r = await refused({ models: bad });
    expect(r.e?.code).toBe('INVALID_TFLITE');
    expect(r.e?.message).toContain(join(bad, 'autoencoder_model.tflite'));
    expect(r.loads).toBe(0);
    expect(r.lines).toEqual([]);
  });
});
