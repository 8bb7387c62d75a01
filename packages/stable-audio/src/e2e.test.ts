import { cpSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeWav, encodeWav, inspectWav } from '@audiogen/audio-io';
import { writeRandomStableAudioFolder } from '@audiogen/convert';
import { type AudioClip, isAudiogenError } from '@audiogen/core';
import { trackModels } from '@audiogen/core/test';
import { createNativeRuntime } from '@audiogen/runtime-native';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createStableAudioPipeline,
  type StableAudioGenerateOptions,
  type StableAudioPipeline,
} from './pipeline';

// End to end through LiteRT with a tiny random-weight folder of the real architecture, made by the converter.
describe('stable-audio end to end (tiny random-weight folder, runtime-native)', () => {
  let dir: string;
  const pipelines: StableAudioPipeline[] = [];
  const make = async (threads: number) => {
    const p = await createStableAudioPipeline({ models: dir, runtime: createNativeRuntime(), threads });
    pipelines.push(p);
    return p;
  };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'audiogen-e2e-'));
    const t0 = performance.now();
    await writeRandomStableAudioFolder({ out: dir, tiny: true, seed: 3 });
    console.log(`tiny folder built in ${(performance.now() - t0).toFixed(0)} ms`);
  });
  afterAll(() => {
    for (const p of pipelines) p.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes a WAV of the right length and format; same seed is byte-identical across runs and threads', async () => {
    const p1 = await make(1);
    expect(p1.encoder).toBeDefined();
    const seconds = p1.maxSeconds / 2;
    const r1 = await p1.generate({ prompt: 'birds singing in the morning', seconds, seed: 1234 });
    const clip = r1.clips[0]!.clip;
    const frames = Math.round(seconds * p1.sampleRate);
    expect(clip.channels.length).toBe(2);
    expect(clip.channels[0]!.length).toBe(frames);
    expect(r1.timings.stepMs[0]!.length).toBe(8);
    const wav = encodeWav(clip, { format: 'f32' });
    const back = decodeWav(wav);
    expect(back.sampleRate).toBe(44100);
    expect(back.channels.length).toBe(2);
    expect(back.channels[0]!.length).toBe(frames);
    const info = inspectWav(wav);
    expect([info.formatTag, info.containerBits, info.channels, info.frames]).toEqual([3, 32, 2, frames]);
    expect(info.dataBytes).toBe(frames * 2 * 4);
    const pcm = inspectWav(encodeWav(clip, { format: 'pcm16' }));
    expect([pcm.formatTag, pcm.containerBits, pcm.frames, pcm.sampleRate]).toEqual([1, 16, frames, 44100]);
    // Interleaved L,R in the WAV equals the decoder's planar channels.
    expect(back.channels[1]![5]).toBe(clip.channels[1]![5]);
    expect(clip.channels[0]!.some((v) => v !== 0)).toBe(true);
    expect(clip.channels.every((ch) => ch.every(Number.isFinite))).toBe(true);

    const r2 = await p1.generate({ prompt: 'birds singing in the morning', seconds, seed: 1234 });
    expect(Buffer.from(encodeWav(r2.clips[0]!.clip, { format: 'f32' })).equals(Buffer.from(wav))).toBe(true);
    const p2 = await make(2);
    const r3 = await p2.generate({ prompt: 'birds singing in the morning', seconds, seed: 1234 });
    expect(Buffer.from(encodeWav(r3.clips[0]!.clip, { format: 'f32' })).equals(Buffer.from(wav))).toBe(true);

    const r4 = await p1.generate({ prompt: 'birds singing in the morning', seconds, seed: 1235 });
    expect(Buffer.from(encodeWav(r4.clips[0]!.clip, { format: 'f32' })).equals(Buffer.from(wav))).toBe(false);
  });

  it("runs an Arm-layout folder: conditioners_float32.tflite, no manifest, Arm-compatible DiT, Arm's noise", async () => {
    const arm = mkdtempSync(join(tmpdir(), 'audiogen-e2e-arm-'));
    try {
      await writeRandomStableAudioFolder({
        out: arm,
        tiny: true,
        seed: 3,
        armCompatible: true,
        encoder: false,
      });
      renameSync(join(arm, 'conditioners.tflite'), join(arm, 'conditioners_float32.tflite'));
      rmSync(join(arm, 'audiogen.json'));
      const p = await createStableAudioPipeline({ models: arm, runtime: createNativeRuntime(), threads: 1 });
      pipelines.push(p);
      expect(p.folder.manifest).toBeUndefined();
      expect(p.encoder).toBeUndefined();
      const a = await p.generate({ prompt: 'rain', seed: 99, noise: 'arm-mt19937' });
      const b = await p.generate({ prompt: 'rain', seed: 99, noise: 'arm-mt19937' });
      expect(a.steps).toBe(8);
      expect(a.clips[0]!.clip.channels[0]).toEqual(b.clips[0]!.clip.channels[0]);
      expect(a.clips[0]!.clip.channels[0]!.length).toBe(p.decoder.frames);
      const low = await createStableAudioPipeline({
        models: arm,
        runtime: createNativeRuntime(),
        threads: 1,
        residency: 'stage',
      });
      pipelines.push(low);
      const c = await low.generate({ prompt: 'rain', seed: 99, noise: 'arm-mt19937' });
      expect(c.clips[0]!.clip.channels).toEqual(a.clips[0]!.clip.channels);
    } finally {
      rmSync(arm, { recursive: true, force: true });
    }
  });

  it('a bad model inside the folder is named, whatever the residency', async () => {
    const bad = mkdtempSync(join(tmpdir(), 'audiogen-e2e-bad-'));
    try {
      cpSync(dir, bad, { recursive: true });
      writeFileSync(join(bad, 'dit_model.tflite'), 'not a model');
      for (const residency of ['all', 'stage'] as const) {
        const e = await createStableAudioPipeline({
          models: bad,
          runtime: createNativeRuntime(),
          residency,
        }).then(
          () => undefined,
          (x: unknown) => x,
        );
        expect(isAudiogenError(e, 'INVALID_TFLITE')).toBe(true);
        expect((e as Error).message).toContain(join(bad, 'dit_model.tflite'));
        expect((e as { details: { path: string } }).details.path).toBe(join(bad, 'dit_model.tflite'));
      }
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });

  it('abort stops the run with ABORTED', async () => {
    const p = await make(1);
    const ac = new AbortController();
    let steps = 0;
    try {
      await p.generate({
        prompt: 'x',
        seed: 1,
        signal: ac.signal,
        onProgress: (e) => {
          if (e.type === 'step') {
            steps++;
            if (e.step === 1) ac.abort();
          }
        },
      });
      expect.unreachable();
    } catch (e) {
      expect(isAudiogenError(e, 'ABORTED')).toBe(true);
    }
    expect(steps).toBe(2);
  });

  it('audio-to-audio through the converter-built encoder, loaded only when asked for', async () => {
    const t = trackModels(createNativeRuntime());
    const p = await createStableAudioPipeline({ models: dir, runtime: t.rt, threads: 1 });
    pipelines.push(p);
    // A text-to-audio app never loads the encoder: it is checked from the file's tables.
    expect(t.models.map((m) => m.label)).toEqual(['conditioners', 'dit', 'decoder']);
    expect(Object.keys(p.loadMs)).toEqual(['conditioners', 'dit', 'decoder']);
    expect(p.encoder!.channels).toBe(2);
    const base = await p.generate({ prompt: 'drums', seed: 9 });
    const init = base.clips[0]!.clip;
    const a = await p.generate({ prompt: 'drums', seed: 9, initAudio: init, initNoiseLevel: 0.5 });
    expect(a.clips[0]!.clip.channels[0]!.length).toBe(init.channels[0]!.length);
    expect(a.clips[0]!.clip.channels[0]).not.toEqual(init.channels[0]);
    expect(t.models.map((m) => m.label)).toEqual(['conditioners', 'dit', 'decoder', 'encoder']);
    expect(Object.keys(a.timings.loadMs)).toEqual(['encoder']);
    expect(base.timings.loadMs).toEqual({});
  });

  it("residency 'stage' checks the folder from the files' tables and matches residency 'all' byte for byte", async () => {
    const { rt: runtime, models, live, atRun: liveAtRun } = trackModels(createNativeRuntime());
    const low = await createStableAudioPipeline({ models: dir, runtime, threads: 1, residency: 'stage' });
    pipelines.push(low);
    expect(models.length).toBe(0); // nothing loaded: shapes come from the .tflite tables
    expect(low.loadMs).toEqual({});
    const all = await make(1);
    expect(low.maxSeconds).toBe(all.maxSeconds);
    expect(low.denoiser.latentShape).toEqual(all.denoiser.latentShape);
    expect(low.conditioner.outputs).toEqual(all.conditioner.outputs);
    expect(low.decoder.output).toEqual(all.decoder.output);
    expect(low.encoder!.input).toEqual(all.encoder!.input);
    const wav = (c: AudioClip) => Buffer.from(encodeWav(c, { format: 'f32' }));
    const base = { prompt: 'birds singing in the morning', seed: 77, steps: 4 };
    const init = (await all.generate({ ...base, seed: 5 })).clips[0]!.clip;
    const cases: StableAudioGenerateOptions[] = [
      { ...base, variations: 2 },
      { ...base, cfgScale: 2.5 },
      { ...base, initAudio: init, initNoiseLevel: 0.6 },
    ];
    for (const o of cases) {
      const a = await all.generate(o);
      const b = await low.generate(o);
      expect(b.clips.length).toBe(a.clips.length);
      for (const [i, c] of a.clips.entries()) expect(wav(b.clips[i]!.clip).equals(wav(c.clip))).toBe(true);
      expect(Object.keys(b.timings.loadMs).sort()).toEqual(
        o.initAudio ? ['conditioners', 'decoder', 'dit', 'encoder'] : ['conditioners', 'decoder', 'dit'],
      );
    }
    expect(liveAtRun.length).toBeGreaterThan(20);
    expect(liveAtRun.every((l) => l.length === 1)).toBe(true);
    expect(live()).toEqual([]);
  });
});
