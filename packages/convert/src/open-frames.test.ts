import { writeTflite } from '@audiogen/core/tflite';
import { createNativeRuntime } from '@audiogen/runtime-native';
import { describe, expect, it } from 'vitest';
import { STABLE_AUDIO_TINY } from './config';
import { buildDecoder } from './stable-audio';
import { decoderSpec, randomWeights } from './weights';

// Tiny widths, 96 latent frames (3,072 samples): long enough for a crop to keep samples clear of its edge.
const cfg = { ...STABLE_AUDIO_TINY, sampleSize: 32 * 96 };
const T = 96;
const C = 8;
const latents = Float32Array.from({ length: C * T }, (_, i) => Math.sin(i * 0.37) * 0.9);
const crop = (n: number) => {
  const out = new Float32Array(C * n);
  for (let c = 0; c < C; c++) out.set(latents.subarray(c * T, c * T + n), c * n);
  return out;
};

describe('decoder with an open frame dimension', () => {
  it.each(['native', 'conv3', 'conv2'] as const)(
    'resized to fewer frames, LiteRT decodes those frames; the start equals the full decode (%s)',
    async (form) => {
      const g = buildDecoder(cfg, randomWeights(decoderSpec(cfg), 4), { transposedConv: form });
      const input = g.subgraphs[0]!.tensors[g.subgraphs[0]!.inputs[0]!]!;
      expect(input.shape_signature).toEqual([1, C, -1]);
      const fixed = buildDecoder(cfg, randomWeights(decoderSpec(cfg), 4), { openFrames: false });
      expect(fixed.subgraphs[0]!.tensors[fixed.subgraphs[0]!.inputs[0]!]!.shape_signature).toBeUndefined();
      const m = await createNativeRuntime().load(writeTflite(g), { threads: 1 });
      try {
        expect(m.inputs[0]!.shape).toEqual([1, C, -1]);
        const full = (await m.run({ latents: { dtype: 'float32', shape: [1, C, T], data: latents } })).audio!;
        expect(full.shape).toEqual([2, T * 32]);
        const n = 60;
        const part = (await m.run({ latents: { dtype: 'float32', shape: [1, C, n], data: crop(n) } })).audio!;
        expect(part.shape).toEqual([2, n * 32]);
        const a = full.data as Float32Array;
        const b = part.data as Float32Array;
        // Samples far from the crop's edge are bit-equal; the last ones see its zero padding and differ.
        const clear = n * 32 - 1400;
        for (let ch = 0; ch < 2; ch++) {
          const x = a.subarray(ch * T * 32, ch * T * 32 + clear);
          const y = b.subarray(ch * n * 32, ch * n * 32 + clear);
          expect(y).toEqual(x);
        }
        expect(b.subarray(n * 32 - 50, n * 32)).not.toEqual(a.subarray(n * 32 - 50, n * 32));
      } finally {
        m.dispose();
      }
    },
  );
});
