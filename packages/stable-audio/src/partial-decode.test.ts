import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildDecoder,
  decoderSpec,
  randomWeights,
  STABLE_AUDIO_TINY,
  writeRandomStableAudioFolder,
} from '@audiogen/convert';
import { writeTfliteFile } from '@audiogen/core/tflite';
import { createNativeRuntime } from '@audiogen/runtime-native';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStableAudioPipeline, type StableAudioPipeline } from './pipeline';
import { decodeWindows, oobleckDecoderMargin } from './receptive-field';

// Tiny widths with 96 latent frames (3,072 samples): the tiny decoder's receptive-field margin (1,339 samples,
// 42 frames of 32) leaves room for a shorter clip to decode fewer frames. Real converter folder, real LiteRT.
const T = 96;
describe('decoding only the frames a clip needs (open-frame decoder, runtime-native)', () => {
  let dir: string;
  let p: StableAudioPipeline;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'audiogen-partial-'));
    await writeRandomStableAudioFolder({
      out: dir,
      seed: 5,
      config: { ...STABLE_AUDIO_TINY, sampleSize: 32 * T },
    });
    p = await createStableAudioPipeline({ models: dir, runtime: createNativeRuntime(), threads: 1 });
  });
  afterAll(() => {
    p?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the margin is the receptive field of the Oobleck decoder', () => {
    expect(oobleckDecoderMargin([2, 2, 2, 2, 2])).toBe(1339);
    expect(oobleckDecoderMargin([2, 4, 4, 8, 8])).toBe(18981); // SAO-small: 9.27 latent frames
    expect(oobleckDecoderMargin([3, 4])).toBeUndefined();
    // SAO-small planned for a 148-frame window: full clip and 10 s in two runs; without resizes every run is 148.
    const sao = { hop: 2048, margin: 18981, total: 256, planned: 148, resizable: true };
    expect(decodeWindows({ ...sao, frames: 256 * 2048 })).toEqual([
      { from: 0, to: 148, keepFrom: 0, keepTo: 138 },
      { from: 128, to: 256, keepFrom: 138, keepTo: 256 },
    ]);
    expect(decodeWindows({ ...sao, frames: 441000 })).toEqual([
      { from: 0, to: 148, keepFrom: 0, keepTo: 138 },
      { from: 128, to: 225, keepFrom: 138, keepTo: 216 },
    ]);
    expect(decodeWindows({ ...sao, frames: 441000, planned: 256 })).toEqual([
      { from: 0, to: 225, keepFrom: 0, keepTo: 216 },
    ]);
    expect(decodeWindows({ ...sao, frames: 256 * 2048, resizable: false })).toEqual([
      { from: 0, to: 148, keepFrom: 0, keepTo: 138 },
      { from: 108, to: 256, keepFrom: 138, keepTo: 256 },
    ]);
    expect(decodeWindows({ ...sao, frames: 256 * 2048, planned: 20 })).toEqual([]); // no room past the margins
    expect(p.decoder.margin).toBe(1339);
    expect(p.decoder.latentFrames).toBe(T);
  });

  it('a shorter clip runs fewer latent frames and equals the full decode, trimmed, bit for bit', async () => {
    // K + margin is a whole number of latent frames: one frame less would reach into the kept samples.
    const a = 74;
    const K = a * 32 - 1339;
    const seconds = K / p.sampleRate;
    const short = await p.generate({ prompt: 'rain', seconds, seed: 7 });
    expect(short.decodedFrames).toEqual({ latent: a, total: T });
    const full = await p.generate({ prompt: 'rain', seconds, seed: 7, fullLength: true });
    expect(full.decodedFrames).toEqual({ latent: T, total: T });
    const s = short.clips[0]!.clip.channels;
    const f = full.clips[0]!.clip.channels;
    expect(s[0]!.length).toBe(K);
    expect(f[0]!.length).toBe(T * 32);
    for (let c = 0; c < 2; c++) expect(s[c]).toEqual(f[c]!.subarray(0, K));

    // The margin is needed: with one latent frame less, the last kept samples differ from the full decode.
    const lat = full.clips[0]!.latents;
    const crop = new Float32Array(8 * (a - 1));
    for (let c = 0; c < 8; c++) crop.set(lat.subarray(c * T, c * T + a - 1), c * (a - 1));
    const out = (
      await p.decoder.model.run({ latents: { dtype: 'float32', shape: [1, 8, a - 1], data: crop } })
    ).audio!.data as Float32Array;
    const n = (a - 1) * 32;
    const tooShort = [out.subarray(0, K), out.subarray(n, n + K)];
    expect(tooShort[0]!.subarray(0, K - 100)).toEqual(f[0]!.subarray(0, K - 100));
    expect(tooShort.some((ch, c) => ch.some((v, k) => v !== f[c]![k]))).toBe(true);
  });

  it('with the Snakes fused (as for int8 decoders) a shorter decode is still bit-equal to the full one', async () => {
    const m = await createNativeRuntime({ threads: 2 }).load(join(dir, 'autoencoder_model.tflite'), {
      fuseSnake: true,
    });
    try {
      expect(m.fusedSnakes).toBeGreaterThan(0);
      const full = await p.generate({ prompt: 'rain', seed: 3, fullLength: true });
      const lat = full.clips[0]!.latents;
      const a = 74;
      const K = a * 32 - 1339;
      const crop = new Float32Array(8 * a);
      for (let c = 0; c < 8; c++) crop.set(lat.subarray(c * T, c * T + a), c * a);
      const run = async (frames: number, data: Float32Array) =>
        (await m.run({ latents: { dtype: 'float32', shape: [1, 8, frames], data } })).audio!
          .data as Float32Array;
      const whole = await run(T, lat);
      const part = await run(a, crop);
      for (let c = 0; c < 2; c++)
        expect(part.subarray(c * a * 32, c * a * 32 + K)).toEqual(whole.subarray(c * T * 32, c * T * 32 + K));
    } finally {
      m.dispose();
    }
  });

  it('a decoder planned for a window decodes in windows, bit-equal to the one-run decode', async () => {
    // The same weights (a seed-5 folder's decoder is seed 5·16 + 4) planned for 90 of the 96 frames.
    const win = mkdtempSync(join(tmpdir(), 'audiogen-partial-win-'));
    cpSync(dir, win, { recursive: true });
    const cfg = { ...STABLE_AUDIO_TINY, sampleSize: 32 * T };
    await writeTfliteFile(
      join(win, 'autoencoder_model.tflite'),
      buildDecoder(cfg, randomWeights(decoderSpec(cfg), 5 * 16 + 4), { plannedFrames: 90 }),
    );
    const w = await createStableAudioPipeline({ models: win, runtime: createNativeRuntime(), threads: 1 });
    try {
      expect([w.decoder.plannedFrames, w.decoder.latentFrames, w.maxSeconds]).toEqual([90, T, p.maxSeconds]);
      // Full clip: [0,90) keeps frames 0–47, [6,96) keeps 48–95 (42 frames of margin at the cut).
      expect(w.decoder.windows()).toEqual([
        { from: 0, to: 90, keepFrom: 0, keepTo: 48 },
        { from: 6, to: 96, keepFrom: 48, keepTo: 96 },
      ]);
      const full = await p.generate({ prompt: 'rain', seed: 9, fullLength: true });
      const wf = await w.generate({ prompt: 'rain', seed: 9, fullLength: true });
      expect(wf.decodedFrames).toEqual({ latent: 180, total: T });
      for (let c = 0; c < 2; c++)
        expect(wf.clips[0]!.clip.channels[c]).toEqual(full.clips[0]!.clip.channels[c]);
      // A short clip fits one run (same seconds conditioned on as the full decode it is compared with).
      const seconds = 1000 / w.sampleRate;
      const ws = await w.generate({ prompt: 'rain', seed: 9, seconds });
      expect(ws.decodedFrames).toEqual({ latent: 74, total: T });
      const ref = await p.generate({ prompt: 'rain', seed: 9, seconds, fullLength: true });
      for (let c = 0; c < 2; c++)
        expect(ws.clips[0]!.clip.channels[c]).toEqual(ref.clips[0]!.clip.channels[c]!.subarray(0, 1000));
    } finally {
      w.dispose();
      rmSync(win, { recursive: true, force: true });
    }
  });

  it('the full clip and an Arm-style fixed decoder decode every frame', async () => {
    expect(p.decoder.latentFramesFor(T * 32)).toBe(T);
    expect(p.decoder.latentFramesFor(1)).toBe(Math.ceil(1340 / 32));
    const arm = mkdtempSync(join(tmpdir(), 'audiogen-partial-arm-'));
    try {
      await writeRandomStableAudioFolder({
        out: arm,
        seed: 5,
        armCompatible: true,
        config: { ...STABLE_AUDIO_TINY, sampleSize: 32 * T },
      });
      const q = await createStableAudioPipeline({ models: arm, runtime: createNativeRuntime(), threads: 1 });
      try {
        expect(q.decoder.margin).toBeUndefined();
        const r = await q.generate({ prompt: 'rain', seconds: 1000 / q.sampleRate, seed: 7 });
        expect(r.decodedFrames).toEqual({ latent: T, total: T });
        expect(r.clips[0]!.clip.channels[0]!.length).toBe(1000);
      } finally {
        q.dispose();
      }
    } finally {
      rmSync(arm, { recursive: true, force: true });
    }
  });
});
