import { writeTflite } from '@audiogen/core/tflite';
import { createNativeRuntime } from '@audiogen/runtime-native';
import { describe, expect, it } from 'vitest';
import { STABLE_AUDIO_TINY } from './config';
import { buildDecoder, buildTransposedConvMicro } from './stable-audio';
import { decoderSpec, randomWeights } from './weights';

const runtime = createNativeRuntime();

async function run(g: ReturnType<typeof buildTransposedConvMicro>, feed: Float32Array) {
  const m = await runtime.load(writeTflite(g), { threads: 1 });
  try {
    const input = m.inputs[0]!;
    const shape = g.subgraphs[0]!.tensors[g.subgraphs[0]!.inputs[0]!]!.shape; // the decoder's frames are open
    return Object.values(await m.run({ [input.name]: { dtype: 'float32', shape, data: feed } }))[0]!
      .data as Float32Array;
  } finally {
    m.dispose();
  }
}

const signal = (n: number, seed: number) =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.61 + seed) * 0.8);

describe('transposed conv as CONV_2D + RESHAPE', () => {
  it.each([2, 4, 8])('equals TRANSPOSE_CONV at stride %i (edges included)', async (stride) => {
    const shape = { stride, length: 13, cin: 12, cout: 6, seed: stride };
    const nat = buildTransposedConvMicro({ ...shape, form: 'native' });
    const c3 = buildTransposedConvMicro({ ...shape, form: 'conv3' });
    expect(c3.subgraphs[0]!.operators.map((o) => o.op)).toEqual(['CONV_2D', 'RESHAPE']);
    const x = signal(13 * 12, stride);
    const a = await run(nat, x);
    const b = await run(c3, x);
    expect(b.length).toBe(13 * stride * 6);
    let maxAbs = 0;
    let diff = 0;
    for (let i = 0; i < a.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(a[i]!));
      diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    }
    expect(maxAbs).toBeGreaterThan(0.1);
    expect(diff).toBeLessThan(maxAbs * 1e-5); // same sums in another order: fp32 rounding only
  });

  it('a whole decoder with every upsampling layer rewritten gives the same audio', async () => {
    const src = randomWeights(decoderSpec(STABLE_AUDIO_TINY), 9);
    const nat = buildDecoder(STABLE_AUDIO_TINY, src);
    const c3 = buildDecoder(STABLE_AUDIO_TINY, src, {
      transposedConv: ({ stride }) => (stride >= 2 ? 'conv3' : 'native'),
    });
    const ops = (g: typeof nat) => g.subgraphs[0]!.operators.filter((o) => o.op === 'TRANSPOSE_CONV').length;
    expect([ops(nat), ops(c3)]).toEqual([5, 0]);
    const lat = signal(8 * 32, 1);
    const a = await run(nat, lat);
    const b = await run(c3, lat);
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let i = 0; i < a.length; i++) {
      dot += a[i]! * b[i]!;
      na += a[i]! ** 2;
      nb += b[i]! ** 2;
    }
    expect(dot / Math.sqrt(na * nb)).toBeGreaterThan(0.9999999);
  });
});
