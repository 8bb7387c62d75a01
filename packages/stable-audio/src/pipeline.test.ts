import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { audioClip, isAudiogenError, type ProgressEvent } from '@audiogen/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StableAudioDenoiser } from './adapters';
import { loadModelFolder } from './folder';
import { createStableAudioPipeline } from './pipeline';
import { samplerApi } from './sampling';
import { FAKE_DIMS, fakeModel, fakeRuntime } from './test-fakes';

const spiece = fileURLToPath(new URL('../../convert/assets/spiece.model', import.meta.url));

function makeFolder(dir: string, opts: { arm?: boolean; encoder?: boolean; manifest?: unknown } = {}) {
  const names = [
    opts.arm ? 'conditioners_float32.tflite' : 'conditioners.tflite',
    'dit_model.tflite',
    'autoencoder_model.tflite',
  ];
  if (opts.encoder) names.push('autoencoder_encoder.tflite');
  for (const n of names) writeFileSync(join(dir, n), 'fake');
  copyFileSync(spiece, join(dir, 'spiece.model'));
  if (opts.manifest !== undefined) writeFileSync(join(dir, 'audiogen.json'), JSON.stringify(opts.manifest));
}

async function expectCode(p: Promise<unknown> | (() => unknown), code: string, re?: RegExp) {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(isAudiogenError(e)).toBe(true);
    expect((e as { code: string }).code).toBe(code);
    if (re) expect((e as Error).message).toMatch(re);
    return e;
  }
  throw new Error(`expected ${code}`);
}

// Tiny "model" with 48 frames at 16 Hz: maxSeconds = 3.
const MANIFEST = { family: 'stable-audio-open-small', config: { sampleRate: 16 } };

describe('family defaults through @audiogen/sampler', () => {
  it('8 steps gives the reference rf times', () => {
    const t = [...samplerApi().rfSchedule({ steps: 8 }).t];
    const want = [1.0, 0.993307, 0.982014, 0.952574, 0.880797, 0.731059, 0.5, 0.268941, 0.0];
    for (const [i, v] of t.entries()) expect(v).toBeCloseTo(want[i]!, 6);
  });
});

describe('model folder', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'audiogen-sa-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('names every missing file and the folder', async () => {
    writeFileSync(join(dir, 'dit_model.tflite'), 'x');
    const e = (await expectCode(loadModelFolder(dir), 'MISSING_FILE')) as {
      message: string;
      details: { missing: string[] };
    };
    expect(e.message).toContain(dir);
    expect(e.details.missing).toEqual(['conditioners.tflite', 'autoencoder_model.tflite', 'spiece.model']);
    expect(e.message).toMatch(/conditioners_float32\.tflite/);
    await expectCode(loadModelFolder(join(dir, 'nope')), 'MISSING_FILE', /does not exist/);
  });

  it("accepts Arm's file names without a manifest (family defaults)", async () => {
    makeFolder(dir, { arm: true });
    const f = await loadModelFolder(dir);
    expect(f.files.conditioners.endsWith('conditioners_float32.tflite')).toBe(true);
    expect(f.files.encoder).toBeUndefined();
    expect(f.config.sampleRate).toBe(44100);
    expect(f.config.steps).toBe(8);
    expect(f.config.sampler).toBe('pingpong');
  });

  it('reads audiogen.json and rejects a broken one', async () => {
    makeFolder(dir, { manifest: { family: 'x', config: { sampleRate: 22050, steps: 4 } } });
    const f = await loadModelFolder(dir);
    expect(f.config.sampleRate).toBe(22050);
    expect(f.config.steps).toBe(4);
    writeFileSync(join(dir, 'audiogen.json'), '{not json');
    await expectCode(loadModelFolder(dir), 'INVALID_MODEL', /audiogen\.json/);
    writeFileSync(join(dir, 'audiogen.json'), JSON.stringify({ config: { sampleRate: 'fast' } }));
    await expectCode(loadModelFolder(dir), 'INVALID_MODEL', /sampleRate/);
  });
});

describe('adapters bind by name or by shape', () => {
  it("binds Arm-style generic names in Arm's input order", async () => {
    const den = new StableAudioDenoiser(fakeModel('dit', { ...FAKE_DIMS, generic: true }));
    expect(den.inputs.x!.name).toBe('args_0');
    expect(den.inputs.cross!.name).toBe('args_2');
    expect(den.latentShape).toEqual([1, 4, 6]);
  });

  it('says which input did not match', () => {
    const m = fakeModel('dit');
    const bad = {
      ...m,
      label: 'dit_model.tflite',
      inputs: m.inputs.filter((i) => i.name !== 'cross_attn_cond'),
    } as typeof m;
    expect(() => new StableAudioDenoiser(bad)).toThrow(/no input matches cross.*x float32 \[1,4,6\]/s);
    const wrong = {
      ...m,
      label: 'dit_model.tflite',
      inputs: m.inputs.map((i) => (i.name === 'x' ? { ...i, shape: [1, 4, 7] } : i)),
    } as typeof m;
    try {
      new StableAudioDenoiser(wrong);
      expect.unreachable();
    } catch (e) {
      expect(isAudiogenError(e, 'MODEL_MISMATCH')).toBe(true);
      expect((e as Error).message).toMatch(/dit_model\.tflite: input "x" is float32 \[1,4,7\]/);
    }
  });
});

describe('createStableAudioPipeline over a fake runtime', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'audiogen-sa-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('generates trimmed clips, reproducibly, with progress and timings', async () => {
    makeFolder(dir, { manifest: MANIFEST });
    const rt = fakeRuntime();
    const p = await createStableAudioPipeline({ models: dir, runtime: rt, threads: 2, decoderFp16: true });
    expect(rt.loads.map((l) => l.options)).toEqual([
      { threads: 2, label: 'conditioners' },
      { threads: 2, label: 'dit' },
      { threads: 2, label: 'decoder', forceFp16: true },
    ]);
    expect(p.maxSeconds).toBe(3);
    expect(p.tokenizer.maxLength).toBe(16);
    const events: ProgressEvent[] = [];
    const r = await p.generate({
      prompt: 'birds singing',
      seconds: 2,
      seed: 7,
      variations: 2,
      onProgress: (e) => events.push(e),
    });
    expect(r.clips.map((c) => c.seed)).toEqual([7, 8]);
    expect(r.clips[0]!.clip.channels.length).toBe(2);
    expect(r.clips[0]!.clip.channels[0]!.length).toBe(32);
    expect(r.seconds).toBe(2);
    expect(r.steps).toBe(8);
    expect(r.sampler).toBe('pingpong');
    expect(r.timings.stepMs.map((s) => s.length)).toEqual([8, 8]);
    expect(events.filter((e) => e.type === 'step').length).toBe(16);
    const dit = rt.models.find((m) => m.label === 'dit')!;
    expect(dit.runs).toBe(16); // CFG 1: one DiT call per step
    const again = await p.generate({ prompt: 'birds singing', seconds: 2, seed: 7 });
    expect(again.clips[0]!.clip.channels[0]).toEqual(r.clips[0]!.clip.channels[0]);
    expect(r.clips[1]!.clip.channels[0]).not.toEqual(r.clips[0]!.clip.channels[0]);
    const other = await p.generate({ prompt: 'rain on a roof', seconds: 2, seed: 7 });
    expect(other.clips[0]!.clip.channels[0]).not.toEqual(r.clips[0]!.clip.channels[0]);
    p.dispose();
    expect(rt.models.every((m) => m.disposed)).toBe(true);
    await expectCode(p.generate({ prompt: 'x' }), 'DISPOSED');
  });

  it('clamps seconds to the model maximum and rejects bad values', async () => {
    makeFolder(dir, { manifest: MANIFEST });
    const p = await createStableAudioPipeline({ models: dir, runtime: fakeRuntime() });
    const r = await p.generate({ prompt: 'x', seconds: 11.89, seed: 1 });
    expect(r.seconds).toBe(3);
    expect(r.clips[0]!.clip.channels[0]!.length).toBe(48);
    expect(r.warnings.join()).toMatch(/clamped to 3\.00 s/);
    for (const s of [0, -1, Number.NaN, 1000])
      await expectCode(p.generate({ prompt: 'x', seconds: s }), 'INVALID_ARGUMENT', /seconds/);
    await expectCode(p.generate({ prompt: 'x', steps: 0 }), 'INVALID_ARGUMENT', /steps/);
    await expectCode(p.generate({ prompt: 'x', cfgScale: Number.NaN }), 'INVALID_ARGUMENT', /cfgScale/);
    await expect(p.generate({ prompt: 'x', sampler: 'nope' })).rejects.toThrow(/nope/);
  });

  it('CFG runs the DiT twice per step and changes the result', async () => {
    makeFolder(dir, { manifest: MANIFEST });
    const rt = fakeRuntime();
    const p = await createStableAudioPipeline({ models: dir, runtime: rt });
    const a = await p.generate({ prompt: 'drums', seed: 3, steps: 4 });
    const b = await p.generate({ prompt: 'drums', seed: 3, steps: 4, cfgScale: 3, negativePrompt: 'noise' });
    expect(rt.models.find((m) => m.label === 'dit')!.runs).toBe(4 + 8);
    expect(b.clips[0]!.clip.channels[0]).not.toEqual(a.clips[0]!.clip.channels[0]);
  });

  it('CFG without a negative prompt uses zero cross tokens for the unconditional pass (as stable-audio-tools)', async () => {
    makeFolder(dir, { manifest: MANIFEST });
    const p = await createStableAudioPipeline({ models: dir, runtime: fakeRuntime() });
    const model = p.denoiser.model;
    const run = model.run.bind(model);
    const zeroCross: boolean[] = [];
    model.run = async (inp, o) => {
      zeroCross.push((inp.cross_attn_cond!.data as Float32Array).every((v) => v === 0));
      return run(inp, o);
    };
    await p.generate({ prompt: 'drums', seed: 3, steps: 2, cfgScale: 3 });
    expect(zeroCross).toEqual([false, true, false, true]);
    zeroCross.length = 0;
    await p.generate({ prompt: 'drums', seed: 3, steps: 2, cfgScale: 3, negativePrompt: 'noise' });
    expect(zeroCross).toEqual([false, false, false, false]);
  });

  it('abort stops within a step', async () => {
    makeFolder(dir, { manifest: MANIFEST });
    const rt = fakeRuntime();
    const p = await createStableAudioPipeline({ models: dir, runtime: rt });
    const ac = new AbortController();
    const run = p.generate({
      prompt: 'x',
      seed: 1,
      signal: ac.signal,
      onProgress: (e) => {
        if (e.type === 'step' && e.step === 2) ac.abort();
      },
    });
    await expectCode(run, 'ABORTED');
    expect(rt.models.find((m) => m.label === 'dit')!.runs).toBe(3);
    expect(rt.models.find((m) => m.label === 'decoder')!.runs).toBe(0);
  });

  it('audio-to-audio needs the encoder, then uses it', async () => {
    makeFolder(dir, { manifest: MANIFEST });
    const init = audioClip(16, [new Float32Array(48).fill(0.5), new Float32Array(48).fill(-0.5)]);
    const p = await createStableAudioPipeline({ models: dir, runtime: fakeRuntime() });
    await expectCode(
      p.generate({ prompt: 'x', initAudio: init }),
      'UNSUPPORTED',
      /autoencoder_encoder\.tflite/,
    );
    await expectCode(p.generate({ prompt: 'x', initNoiseLevel: 0.5 }), 'INVALID_ARGUMENT', /initAudio/);
    writeFileSync(join(dir, 'autoencoder_encoder.tflite'), 'fake');
    const p2 = await createStableAudioPipeline({ models: dir, runtime: fakeRuntime() });
    expect(p2.encoder).toBeDefined();
    const a = await p2.generate({ prompt: 'x', initAudio: init, initNoiseLevel: 0.3, seed: 4 });
    const b = await p2.generate({ prompt: 'x', initAudio: init, initNoiseLevel: 0.9, seed: 4 });
    expect(a.clips[0]!.clip.channels[0]).not.toEqual(b.clips[0]!.clip.channels[0]);
    await expectCode(p2.generate({ prompt: 'x', initAudio: init, initNoiseLevel: 1.5 }), 'INVALID_ARGUMENT');
  });

  it('reports models from different families by file', async () => {
    makeFolder(dir, { manifest: MANIFEST });
    const rt = fakeRuntime(FAKE_DIMS, { dit: { ...FAKE_DIMS, dim: 12 } });
    await expectCode(
      createStableAudioPipeline({ models: dir, runtime: rt }),
      'MODEL_MISMATCH',
      /conditioners\.tflite gives cross tokens \[1,9,8\] but .*dit_model\.tflite takes \[1,9,12\]/,
    );
    expect(rt.models.every((m) => m.disposed)).toBe(true);
  });

  it('works with an Arm-style folder (generic tensor names, no manifest)', async () => {
    makeFolder(dir, { arm: true });
    const p = await createStableAudioPipeline({
      models: dir,
      runtime: fakeRuntime({ ...FAKE_DIMS, generic: true }),
    });
    expect(p.sampleRate).toBe(44100);
    const r = await p.generate({ prompt: 'x', seed: 2, steps: 2 });
    expect(r.clips[0]!.clip.channels[0]!.length).toBe(48); // tiny fake decoder: less than 10 s
  });
});
