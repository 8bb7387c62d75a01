import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AudiogenError, audioClip, isAudiogenError, type ProgressEvent } from '@audiogen/core';
import { trackModels } from '@audiogen/core/test';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createStableAudioPipeline, type StableAudioGenerateOptions } from './pipeline';
import { FAKE_DIMS, type FakeRuntime, fakeRuntime } from './test-fakes';

// residency 'stage' (low memory) over the fake runtime: the fake .tflite files hold no tables, so the
// folder is checked by loading each model once (the fallback path); e2e.test.ts covers the table path.

const spiece = fileURLToPath(new URL('../../convert/assets/spiece.model', import.meta.url));
const MANIFEST = { family: 'stable-audio-open-small', config: { sampleRate: 16 } };

function makeFolder(dir: string, encoder = true) {
  const names = ['conditioners.tflite', 'dit_model.tflite', 'autoencoder_model.tflite'];
  if (encoder) names.push('autoencoder_encoder.tflite');
  for (const n of names) writeFileSync(join(dir, n), 'fake');
  copyFileSync(spiece, join(dir, 'spiece.model'));
  writeFileSync(join(dir, 'audiogen.json'), JSON.stringify(MANIFEST));
}

async function expectCode(p: Promise<unknown>, code: string, re?: RegExp) {
  try {
    await p;
  } catch (e) {
    expect(isAudiogenError(e)).toBe(true);
    expect((e as AudiogenError).code).toBe(code);
    if (re) expect((e as Error).message).toMatch(re);
    return e as AudiogenError;
  }
  throw new Error(`expected ${code}`);
}

describe("residency 'stage' (low memory) over a fake runtime", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'audiogen-sa-res-'));
    makeFolder(dir);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const stagePipeline = (rt: FakeRuntime, extra: { threads?: number; decoderFp16?: boolean } = {}) =>
    createStableAudioPipeline({ models: dir, runtime: rt, residency: 'stage', ...extra });

  it('checks the folder one model at a time and keeps none loaded', async () => {
    const t = trackModels(fakeRuntime());
    const events: ProgressEvent[] = [];
    const p = await createStableAudioPipeline({
      models: dir,
      runtime: t.rt,
      residency: 'stage',
      onProgress: (e) => events.push(e),
    });
    expect(p.residency).toBe('stage');
    expect(t.rt.loads.map((l) => l.options?.label)).toEqual(['conditioners', 'dit', 'decoder', 'encoder']);
    expect(t.atLoad).toEqual([[], [], [], []]);
    expect(t.live()).toEqual([]);
    expect(Object.keys(p.loadMs)).toEqual(['conditioners', 'dit', 'decoder', 'encoder']);
    expect(events.filter((e) => e.type === 'load').length).toBe(8);
    // Shapes are known without a loaded model; the adapters cannot run.
    expect(p.maxSeconds).toBe(3);
    expect(p.denoiser.latentShape).toEqual([1, FAKE_DIMS.latentC, FAKE_DIMS.latentT]);
    expect(p.tokenizer.maxLength).toBe(FAKE_DIMS.tokens);
    await expectCode(
      p.denoiser.denoise(new Float32Array(24), 1, {}),
      'MISSING_INPUT', // conditioning is checked first
    );
    const e = await expectCode(
      p.decoder.decode(new Float32Array(24)),
      'UNSUPPORTED',
      /decoder is not loaded.*residency 'stage'/,
    );
    expect(e.message).toMatch(/generate\(\)/);
  });

  it('gives byte-identical results to residency all, loading one model per stage', async () => {
    const all = await createStableAudioPipeline({ models: dir, runtime: fakeRuntime(), decoderFp16: true });
    const t = trackModels(fakeRuntime());
    const p = await stagePipeline(t.rt, { threads: 2, decoderFp16: true });
    t.rt.loads.length = 0;
    t.atLoad.length = 0;
    const cases: Omit<StableAudioGenerateOptions, 'prompt'>[] = [
      { seed: 7, seconds: 2, variations: 2 },
      { seed: 3, steps: 4, cfgScale: 3 },
      { seed: 3, steps: 4, cfgScale: 3, negativePrompt: 'noise' },
      { seed: 11, noise: 'arm-mt19937', sampler: 'euler', steps: 5 },
    ];
    for (const c of cases) {
      const events: ProgressEvent[] = [];
      const a = await all.generate({ prompt: 'birds singing', ...c });
      const b = await p.generate({ prompt: 'birds singing', ...c, onProgress: (e) => events.push(e) });
      expect(b.clips.length).toBe(a.clips.length);
      for (const [i, clip] of a.clips.entries()) {
        expect(b.clips[i]!.seed).toBe(clip.seed);
        expect(Buffer.from(b.clips[i]!.latents.buffer).equals(Buffer.from(clip.latents.buffer))).toBe(true);
        for (const [ch, data] of clip.clip.channels.entries())
          expect(Buffer.from(b.clips[i]!.clip.channels[ch]!.buffer).equals(Buffer.from(data.buffer))).toBe(
            true,
          );
      }
      expect([b.seconds, b.steps, b.sampler, b.cfgScale, b.seed]).toEqual([
        a.seconds,
        a.steps,
        a.sampler,
        a.cfgScale,
        a.seed,
      ]);
      expect(b.timings.stepMs.map((s) => s.length)).toEqual(a.timings.stepMs.map((s) => s.length));
      expect(Object.keys(b.timings.loadMs)).toEqual(['conditioners', 'dit', 'decoder']);
      expect(a.timings.loadMs).toEqual({});
      const sum = Object.values(b.timings.loadMs).reduce((x, y) => x + y, 0);
      expect(b.timings.totalMs).toBeGreaterThanOrEqual(sum + b.timings.denoiseMs);
      // Events: a load pair before each stage, in stage order.
      const kinds = events.map((e) =>
        e.type === 'load'
          ? `load:${e.model}:${e.done}`
          : e.type === 'step'
            ? 'step'
            : `${e.type}:${'done' in e ? e.done : ''}`,
      );
      const steps = a.timings.stepMs.flat().length;
      const vars = a.clips.length;
      expect(kinds).toEqual([
        'load:conditioners:false',
        'load:conditioners:true',
        'encode:false',
        'encode:true',
        'load:dit:false',
        'load:dit:true',
        ...Array(steps).fill('step'),
        'load:decoder:false',
        'load:decoder:true',
        ...Array.from({ length: vars }, () => ['decode:false', 'decode:true']).flat(),
        'done:',
      ]);
    }
    // Every run saw exactly its own model alive; every load happened with nothing else loaded.
    expect(t.atRun.every((l) => l.length === 1)).toBe(true);
    expect(t.atLoad.every((l) => l.length === 0)).toBe(true);
    expect(t.live()).toEqual([]);
    expect(t.rt.loads.map((l) => l.options)).toEqual(
      cases.flatMap(() => [
        { threads: 2, label: 'conditioners' },
        { threads: 2, label: 'dit' },
        { threads: 2, label: 'decoder', forceFp16: true, fuseSnake: false },
      ]),
    );
    // CFG: the DiT ran twice per step; zero cross tokens for the unconditional pass as in residency 'all'.
    const dits = t.rt.models.filter((m) => m.label === 'dit').slice(1); // [0] was the creation check
    expect(dits.map((m) => m.runs)).toEqual([16, 8, 8, 5]);
    all.dispose();
    p.dispose();
  });

  it('audio-to-audio loads the encoder for its own stage, identical to residency all', async () => {
    const init = audioClip(16, [new Float32Array(48).fill(0.5), new Float32Array(48).fill(-0.5)]);
    const all = await createStableAudioPipeline({ models: dir, runtime: fakeRuntime() });
    const t = trackModels(fakeRuntime());
    const p = await stagePipeline(t.rt);
    const a = await all.generate({ prompt: 'x', initAudio: init, initNoiseLevel: 0.3, seed: 4 });
    const b = await p.generate({ prompt: 'x', initAudio: init, initNoiseLevel: 0.3, seed: 4 });
    expect(b.clips[0]!.clip.channels).toEqual(a.clips[0]!.clip.channels);
    expect(Object.keys(b.timings.loadMs)).toEqual(['encoder', 'conditioners', 'dit', 'decoder']);
    expect(t.atRun.every((l) => l.length === 1)).toBe(true);
    expect(t.live()).toEqual([]);
    // Without init audio the encoder is not loaded.
    const before = t.rt.loads.length;
    await p.generate({ prompt: 'x', seed: 4 });
    expect(t.rt.loads.slice(before).map((l) => l.options?.label)).toEqual(['conditioners', 'dit', 'decoder']);
  });

  it('abort disposes the stage model and loads nothing more', async () => {
    const t = trackModels(fakeRuntime());
    const p = await stagePipeline(t.rt);
    const ac = new AbortController();
    const events: ProgressEvent[] = [];
    await expectCode(
      p.generate({
        prompt: 'x',
        seed: 1,
        signal: ac.signal,
        onProgress: (e) => {
          events.push(e);
          if (e.type === 'step' && e.step === 2) ac.abort();
        },
      }),
      'ABORTED',
    );
    expect(t.live()).toEqual([]);
    expect(events.some((e) => e.type === 'load' && e.model === 'decoder')).toBe(false);
    expect(t.rt.models.at(-1)!.label).toBe('dit');
    expect(t.rt.models.at(-1)!.runs).toBe(3);
    // Aborted while the conditioner loads: it is disposed, nothing else is loaded.
    const ac2 = new AbortController();
    const n = t.rt.models.length;
    await expectCode(
      p.generate({
        prompt: 'x',
        seed: 1,
        signal: ac2.signal,
        onProgress: (e) => {
          if (e.type === 'load' && !e.done) ac2.abort();
        },
      }),
      'ABORTED',
    );
    expect(t.rt.models.slice(n).map((m) => [m.label, m.runs, m.disposed])).toEqual([
      ['conditioners', 0, true],
    ]);
    // An already-aborted signal loads nothing.
    const ac3 = new AbortController();
    ac3.abort();
    await expectCode(p.generate({ prompt: 'x', signal: ac3.signal }), 'ABORTED');
    expect(t.rt.models.length).toBe(n + 1);
    // The pipeline still works afterwards.
    const r = await p.generate({ prompt: 'x', seed: 1, steps: 2 });
    expect(r.clips.length).toBe(1);
    expect(t.live()).toEqual([]);
  });

  it('a stage that throws disposes its model; bad arguments load nothing', async () => {
    const t = trackModels(fakeRuntime());
    const p = await stagePipeline(t.rt);
    const load = t.rt.load;
    t.rt.load = async (source, options) => {
      const m = await load(source, options);
      if (options?.label === 'decoder') {
        m.run = async () => {
          throw new AudiogenError('RUNTIME_ERROR', 'decoder: out of memory (test)');
        };
      }
      return m;
    };
    await expectCode(p.generate({ prompt: 'x', seed: 1, steps: 2 }), 'RUNTIME_ERROR', /out of memory/);
    expect(t.live()).toEqual([]);
    t.rt.load = load;
    const n = t.rt.loads.length;
    await expectCode(p.generate({ prompt: 'x', seed: -1 }), 'INVALID_ARGUMENT', /seed/);
    await expectCode(p.generate({ prompt: 'x', variations: 0 }), 'INVALID_ARGUMENT', /variations/);
    await expectCode(p.generate({ prompt: 'x', steps: 0 }), 'INVALID_ARGUMENT', /steps/);
    expect(t.rt.loads.length).toBe(n);
    // A load that fails leaves nothing behind either.
    t.rt.load = async (source, options) => {
      if (options?.label === 'dit') throw new AudiogenError('IO_ERROR', 'dit: cannot map the file (test)');
      return load(source, options);
    };
    await expectCode(p.generate({ prompt: 'x', seed: 1 }), 'IO_ERROR');
    expect(t.live()).toEqual([]);
  });

  it('dispose() during a stage disposes its model and ends the generation', async () => {
    const t = trackModels(fakeRuntime());
    const p = await stagePipeline(t.rt);
    await expectCode(
      p.generate({
        prompt: 'x',
        seed: 1,
        onProgress: (e) => {
          if (e.type === 'step' && e.step === 1) p.dispose();
        },
      }),
      'DISPOSED',
    );
    expect(t.live()).toEqual([]);
    // The DiT was disposed at once (its next run failed), the decoder never loaded.
    expect(t.rt.models.at(-1)!.label).toBe('dit');
    expect(t.rt.models.at(-1)!.runs).toBe(2);
    await expectCode(p.generate({ prompt: 'x' }), 'DISPOSED');
    p.dispose(); // twice is fine
    // Disposed while a model loads: the model is disposed as soon as it arrives.
    const t2 = trackModels(fakeRuntime());
    const p2 = await stagePipeline(t2.rt);
    await expectCode(
      p2.generate({
        prompt: 'x',
        seed: 1,
        onProgress: (e) => {
          if (e.type === 'load' && e.model === 'dit' && !e.done) p2.dispose();
        },
      }),
      'DISPOSED',
    );
    expect(t2.live()).toEqual([]);
    expect(t2.rt.models.at(-1)!.label).toBe('dit');
    expect(t2.rt.models.at(-1)!.runs).toBe(0);
  });

  it('reports mismatched files at creation and rejects an unknown residency', async () => {
    const rt = fakeRuntime(FAKE_DIMS, { decoder: { ...FAKE_DIMS, latentT: 7 } });
    await expectCode(
      createStableAudioPipeline({ models: dir, runtime: rt, residency: 'stage' }),
      'MODEL_MISMATCH',
      /autoencoder_model\.tflite takes latents \[1,4,7\] but .*dit_model\.tflite makes \[1,4,6\]/,
    );
    expect(rt.models.every((m) => m.disposed)).toBe(true);
    await expectCode(
      createStableAudioPipeline({
        models: dir,
        runtime: fakeRuntime(),
        residency: 'some' as unknown as 'stage',
      }),
      'INVALID_ARGUMENT',
      /residency must be 'all' or 'stage'/,
    );
    for (const k of ['decoderFp16', 'decoderFuseSnake'])
      await expectCode(
        createStableAudioPipeline({ models: dir, runtime: fakeRuntime(), [k]: 'yes' }),
        'INVALID_ARGUMENT',
        new RegExp(`^${k} must be true or false`),
      );
  });

  it('a file that changed after creation is reported, not run', async () => {
    const dims = { ...FAKE_DIMS };
    const overrides: Record<string, typeof FAKE_DIMS> = {};
    const rt = fakeRuntime(dims, overrides);
    const p = await stagePipeline(rt);
    overrides.decoder = { ...FAKE_DIMS, frames: 40 };
    await expectCode(
      p.generate({ prompt: 'x', seed: 1, steps: 2 }),
      'MODEL_MISMATCH',
      /autoencoder_model\.tflite changed since the pipeline was created/,
    );
    expect(rt.models.every((m) => m.disposed)).toBe(true);
  });
});
