import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspectWav } from '@audiogen/audio-io';
import type { Model, Runtime } from '@audiogen/core';
import { trackModels } from '@audiogen/core/test';
import { createNativeRuntime } from '@audiogen/runtime-native';
import { describe, expect, it } from 'vitest';
import { createProgram } from '../index';
import { type GenerateCliOptions, outputPaths, runGenerate } from './generate';
import { useTinyModels } from './test-fixture';

describe('audiogen generate', () => {
  const fx = useTinyModels('gen');
  const { dir, models } = fx;
  const opts = (o: Partial<GenerateCliOptions>) => fx.opts({ json: true, ...o });

  it('parses the flags of the issue and writes WAVs with a --json line', async () => {
    const lines: string[] = [];
    const program = createProgram();
    const out = join(dir, 'parsed.wav');
    // Parse only (commander), then run with captured output.
    const cmd = program.commands.find((c) => c.name() === 'generate')!;
    cmd.action(async (prompt: string, o: GenerateCliOptions) => {
      await runGenerate(prompt, o, { stdout: (l) => lines.push(l), stderr: () => {} });
    });
    await program.parseAsync([
      'node',
      'audiogen',
      'generate',
      'soft rain',
      '--models',
      models,
      '--seconds',
      '0.01',
      '--steps',
      '4',
      '--sampler',
      'euler',
      '--cfg',
      '2',
      '--negative',
      'noise',
      '--seed',
      '77',
      '--variations',
      '2',
      '--threads',
      '1',
      '--format',
      'f32',
      '--out',
      out,
      '--json',
      '--no-progress',
    ]);
    const j = JSON.parse(lines.at(-1)!);
    expect(j.seeds).toEqual([77, 78]);
    expect(j.files).toEqual(outputPaths(out, 2));
    expect(j.steps).toBe(4);
    expect(j.sampler).toBe('euler');
    expect(j.cfgScale).toBe(2);
    expect(j.timings.stepMs.map((s: number[]) => s.length)).toEqual([4, 4]);
    expect(j.decodedFrames).toEqual({ latent: 32, total: 32 }); // the tiny decoder's margin covers its clip
    for (const f of j.files) {
      const info = inspectWav(readFileSync(f));
      expect([info.sampleRate, info.channels, info.frames, info.format]).toEqual([44100, 2, 441, 'f32']);
    }
  });

  it('same seed writes byte-identical files; a different seed differs', async () => {
    const a = join(dir, 'a.wav');
    const b = join(dir, 'b.wav');
    const c = join(dir, 'c.wav');
    const quiet = { stdout: () => {}, stderr: () => {} };
    await runGenerate('a dog barking', opts({ seed: 1, out: a, threads: 1 }), quiet);
    await runGenerate('a dog barking', opts({ seed: 1, out: b, threads: 2 }), quiet);
    await runGenerate('a dog barking', opts({ seed: 2, out: c }), quiet);
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
    expect(readFileSync(a).equals(readFileSync(c))).toBe(false);
    expect(inspectWav(readFileSync(a)).format).toBe('pcm16');
  });

  it('Ctrl-C stops within a step and leaves no file', async () => {
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
          if (++ditRuns === 2) sigint?.();
          return m.run(inp, ro);
        };
        return wrapped;
      },
    };
    const out = join(dir, 'stopped.wav');
    await expect(
      runGenerate('x', opts({ seed: 3, out }), {
        createRuntime: () => runtime,
        signals,
        stdout: () => {},
        stderr: () => {},
      }),
    ).rejects.toMatchObject({ code: 'ABORTED' });
    expect(ditRuns).toBe(2);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.startsWith('stopped'))).toEqual([]);
  });

  it('--low-memory loads one model at a time and writes the same bytes', async () => {
    const lines: string[] = [];
    const program = createProgram();
    const { rt: runtime, models: loaded, atRun: liveAtRun } = trackModels(createNativeRuntime());
    const cmd = program.commands.find((c) => c.name() === 'generate')!;
    expect(cmd.helpInformation()).toMatch(/--low-memory\s+load each model only for its stage/);
    cmd.action(async (prompt: string, o: GenerateCliOptions) => {
      await runGenerate(prompt, o, {
        createRuntime: () => runtime,
        stdout: (l) => lines.push(l),
        stderr: () => {},
      });
    });
    const low = join(dir, 'low.wav');
    const args = ['generate', 'soft rain', '--models', models, '--seed', '21', '--steps', '3', '--json'];
    await program.parseAsync(['node', 'audiogen', ...args, '--out', low, '--low-memory']);
    const j = JSON.parse(lines.at(-1)!);
    expect(j.residency).toBe('stage');
    expect(Object.keys(j.timings.loadMs).sort()).toEqual(['conditioners', 'decoder', 'dit']);
    expect(liveAtRun.length).toBe(1 + 3 + 1);
    expect(liveAtRun.every((l) => l.length === 1)).toBe(true);
    expect(loaded.every((m) => m.disposed)).toBe(true);
    const def = join(dir, 'default.wav');
    await runGenerate('soft rain', opts({ seed: 21, steps: 3, out: def }), {
      stdout: () => {},
      stderr: () => {},
    });
    expect(readFileSync(low).equals(readFileSync(def))).toBe(true);
  });

  it('errors a person can act on', async () => {
    const quiet = { stdout: () => {}, stderr: () => {} };
    await expect(runGenerate('x', opts({ models: join(dir, 'nope') }), quiet)).rejects.toMatchObject({
      code: 'MISSING_FILE',
    });
    await expect(runGenerate('x', opts({ seconds: 300 }), quiet)).rejects.toThrow(/seconds must be in/);
    const errs: string[] = [];
    const long = 'warm ambient techno track with piano and drums '.repeat(30);
    const r = await runGenerate(long, opts({ json: false, seed: 1, out: join(dir, 'long.wav') }), {
      stdout: () => {},
      stderr: (l) => errs.push(l),
    });
    expect(r.result.promptTruncated).toBe(true);
    expect(errs.join('\n')).toMatch(/warning: the prompt is longer than 64 tokens and was truncated/);
    expect(errs.join('\n')).toMatch(/^seed 1$/m);
    await expect(runGenerate('x', opts({ initAudio: join(dir, 'missing.wav') }), quiet)).rejects.toThrow(
      /missing\.wav/,
    );
  });
});
