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
      { threads: 2, label: 'decoder', forceFp16: true, fuseSnake: false },
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

  it('prompts are cut at promptTokens (the reference max_length) and padded to what the conditioner takes', async () => {
    makeFolder(dir, { manifest: { ...MANIFEST, config: { ...MANIFEST.config, promptTokens: 6 } } });
    const p = await createStableAudioPipeline({ models: dir, runtime: fakeRuntime() });
    expect([p.tokenizer.maxLength, p.tokenizer.padTo]).toEqual([6, 16]);
    const t = p.tokenizer.encode('warm ambient techno track with piano and drums');
    expect([t.ids.length, t.length, t.truncated]).toEqual([16, 6, true]);
    const r = await p.generate({
      prompt: 'warm ambient techno track with piano and drums',
      seconds: 1,
      seed: 1,
    });
    expect(r.promptTruncated).toBe(true);
    expect(r.warnings).toEqual(['the prompt is longer than 6 tokens and was truncated']);
    p.dispose();
    makeFolder(dir, { manifest: MANIFEST }); // the family's 64 is more than this conditioner's 16 positions
    const q = await createStableAudioPipeline({ models: dir, runtime: fakeRuntime() });
    expect([q.tokenizer.maxLength, q.tokenizer.padTo]).toEqual([16, 16]);
    q.dispose();
  });

  it('one rule for seconds: (0, maxSeconds], at least one frame, never clamped; bad values load nothing', async () => {
    makeFolder(dir, { manifest: MANIFEST });
    const rt = fakeRuntime();
    const p = await createStableAudioPipeline({ models: dir, runtime: rt });
    const r = await p.generate({ prompt: 'x', seconds: 3, seed: 1 });
    expect(r.seconds).toBe(3);
    expect(r.clips[0]!.clip.channels[0]!.length).toBe(48);
    expect(r.warnings).toEqual([]);
    const runs = () => rt.models.map((m) => m.runs).reduce((a, b) => a + b, 0);
    const before = runs();
    for (const s of [0, -1, Number.NaN, 3.01, 11.89, 1000, 0.01])
      await expectCode(p.generate({ prompt: 'x', seconds: s }), 'INVALID_ARGUMENT', /^seconds /);
    await expectCode(p.generate({ prompt: 'x', steps: 0 }), 'INVALID_ARGUMENT', /steps/);
    await expectCode(p.generate({ prompt: 'x', cfgScale: Number.NaN }), 'INVALID_ARGUMENT', /cfgScale/);
    await expectCode(p.generate({ prompt: 'x', sampler: 'nope' }), 'NOT_FOUND', /^sampler: .*nope/);
    await expectCode(p.generate({ prompt: 'x', seed: 2 ** 32 }), 'INVALID_ARGUMENT', /^seed /);
    expect(runs()).toBe(before);
    // 1/16 s is one frame at 16 Hz; fullLength writes every decoder frame, conditioned on the seconds asked for.
    expect(
      (await p.generate({ prompt: 'x', seconds: 1 / 16, seed: 1 })).clips[0]!.clip.channels[0]!.length,
    ).toBe(1);
    const full = await p.generate({ prompt: 'x', seconds: 2, fullLength: true, seed: 1 });
    expect(full.clips[0]!.clip.channels[0]!.length).toBe(48);
    expect([full.seconds, full.secondsRequested]).toEqual([3, 2]);
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

describe('the encoder loads only for audio-to-audio', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'audiogen-sa-enc-'));
    makeFolder(dir, { manifest: MANIFEST, encoder: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const init = audioClip(16, [new Float32Array(48).fill(0.5), new Float32Array(48).fill(-0.5)]);
  const live = (rt: ReturnType<typeof fakeRuntime>) =>
    rt.models.filter((m) => !m.disposed).map((m) => m.label);

  it('by default: checked at creation, loaded by the first audio-to-audio generate() and kept', async () => {
    const rt = fakeRuntime();
    const p = await createStableAudioPipeline({ models: dir, runtime: rt });
    // The fake files have no .tflite tables: the encoder was loaded to be checked and disposed at once.
    expect(live(rt)).toEqual(['conditioners', 'dit', 'decoder']);
    expect(p.encoder!.channels).toBe(2);
    const text = await p.generate({ prompt: 'x', seed: 1 });
    expect(text.timings.loadMs).toEqual({});
    expect(live(rt)).toEqual(['conditioners', 'dit', 'decoder']);
    const events: ProgressEvent[] = [];
    const a = await p.generate({ prompt: 'x', initAudio: init, seed: 4, onProgress: (e) => events.push(e) });
    expect(Object.keys(a.timings.loadMs)).toEqual(['encoder']);
    expect(events.slice(0, 2).map((e) => e.type === 'load' && [e.model, e.done])).toEqual([
      ['encoder', false],
      ['encoder', true],
    ]);
    expect(live(rt)).toEqual(['conditioners', 'dit', 'decoder', 'encoder']);
    const b = await p.generate({ prompt: 'x', initAudio: init, seed: 4 });
    expect(b.timings.loadMs).toEqual({});
    expect(b.clips[0]!.clip.channels).toEqual(a.clips[0]!.clip.channels);
    // Same result as an encoder loaded at creation.
    const rt2 = fakeRuntime();
    const eager = await createStableAudioPipeline({ models: dir, runtime: rt2, loadEncoder: true });
    expect(live(rt2)).toEqual(['conditioners', 'dit', 'decoder', 'encoder']);
    const c = await eager.generate({ prompt: 'x', initAudio: init, seed: 4 });
    expect(c.clips[0]!.clip.channels).toEqual(a.clips[0]!.clip.channels);
    p.dispose();
    eager.dispose();
    expect([...rt.models, ...rt2.models].every((m) => m.disposed)).toBe(true);
    // loadEncoder: false: no audio-to-audio, refused before any work.
    const none = await createStableAudioPipeline({ models: dir, runtime: fakeRuntime(), loadEncoder: false });
    expect(none.encoder).toBeUndefined();
    await expectCode(none.generate({ prompt: 'x', initAudio: init }), 'UNSUPPORTED', /initAudio/);
  });
});

describe('finished clips and Arm parity', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'audiogen-sa-clips-'));
    makeFolder(dir, { manifest: MANIFEST });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('onClip gets each finished clip before the next variation starts; an abort keeps them', async () => {
    for (const residency of ['all', 'stage'] as const) {
      const p = await createStableAudioPipeline({ models: dir, runtime: fakeRuntime(), residency });
      const got: [number, number][] = [];
      const ac = new AbortController();
      const run = p.generate({
        prompt: 'x',
        seed: 10,
        variations: 3,
        steps: 2,
        signal: ac.signal,
        onClip: (c, i) => {
          got.push([i, c.seed]);
          expect(c.clip.channels[0]!.length).toBe(48);
        },
        onProgress: (e) => {
          // 'all' finishes clip 0 before variation 1 steps; 'stage' runs the DiT for all first.
          if (residency === 'all' && e.type === 'step' && e.variation === 1) ac.abort();
          if (residency === 'stage' && e.type === 'decode' && e.variation === 1 && e.done) ac.abort();
        },
      });
      await expectCode(run, 'ABORTED');
      expect(got).toEqual(
        residency === 'all'
          ? [[0, 10]]
          : [
              [0, 10],
              [1, 11],
            ],
      );
      const all: number[] = [];
      const r = await p.generate({
        prompt: 'x',
        seed: 10,
        variations: 3,
        steps: 2,
        onClip: (_, i) => void all.push(i),
      });
      expect(all).toEqual([0, 1, 2]);
      expect(r.clips.map((c) => c.seed)).toEqual([10, 11, 12]);
      p.dispose();
    }
  });
});
