import { type Graph, writeTflite } from '@audiogen/core/tflite';
import { loadRecipe, quantizeModel, snr } from '@audiogen/quantize';
import { createNativeRuntime } from '@audiogen/runtime-native';
import { describe, expect, it } from 'vitest';
import { STABLE_AUDIO_OPEN_SMALL, STABLE_AUDIO_TINY } from './config';
import { MEASURED_UPSAMPLERS, measuredUpsamplerForm } from './decoder-forms';
import {
  buildDecoder,
  buildTransposedConvMicro,
  type DecoderBuildOptions,
  decoderUpsamplers,
} from './stable-audio';
import { cosine, maxAbsDiff } from './testing';
import { decoderSpec, randomWeights } from './weights';

const runtime = createNativeRuntime();

async function run(model: Graph | Uint8Array, feed: Float32Array) {
  const m = await runtime.load(model instanceof Uint8Array ? model : writeTflite(model), { threads: 1 });
  try {
    const input = m.inputs[0]!;
    // A decoder's open frame dimension (-1) takes what the feed's length leaves for it.
    const known = input.shape.reduce((a, d) => (d < 0 ? a : a * d), 1);
    const shape = input.shape.map((d) => (d < 0 ? feed.length / known : d));
    return Object.values(await m.run({ [input.name]: { dtype: 'float32', shape, data: feed } }))[0]!
      .data as Float32Array;
  } finally {
    m.dispose();
  }
}

const signal = (n: number, seed: number) =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.61 + seed) * 0.8);
const peak = (a: Float32Array) => a.reduce((p, v) => Math.max(p, Math.abs(v)), 0);
const count = (g: Graph, op: string) => g.subgraphs[0]!.operators.filter((o) => o.op === op).length;

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
    expect(peak(a)).toBeGreaterThan(0.1);
    expect(maxAbsDiff(a, b)).toBeLessThan(peak(a) * 1e-5); // same sums in another order: fp32 rounding only
  });

  it.each([2, 4, 8])(
    'as PAD + k=2 CONV_2D + RESHAPE + STRIDED_SLICE equals it at stride %i',
    async (stride) => {
      const shape = { stride, length: 13, cin: 12, cout: 6, seed: stride };
      const nat = buildTransposedConvMicro({ ...shape, form: 'native' });
      const c2 = buildTransposedConvMicro({ ...shape, form: 'conv2' });
      expect(c2.subgraphs[0]!.operators.map((o) => o.op)).toEqual([
        'PAD',
        'CONV_2D',
        'RESHAPE',
        'STRIDED_SLICE',
      ]);
      const x = signal(13 * 12, stride);
      const a = await run(nat, x);
      const b = await run(c2, x);
      expect(b.length).toBe(13 * stride * 6);
      expect(peak(a)).toBeGreaterThan(0.1);
      // The first and last s/2 output frames come from the zero-padded ends: compare them too.
      expect(maxAbsDiff(a, b)).toBeLessThan(peak(a) * 1e-5);
    },
  );
});

describe('the decoder forms recorded by measurement', () => {
  it('cover every upsampler of Stable Audio Open Small, and nothing else gets a rewrite', () => {
    const full = decoderUpsamplers(STABLE_AUDIO_OPEN_SMALL);
    expect(full.map((l) => [l.stride, l.cin, l.cout, l.frames])).toEqual(
      MEASURED_UPSAMPLERS.map((m) => [m.stride, m.cin, m.cout, m.frames]),
    );
    // Each choice follows its own numbers: the fastest form in fp32 among those not slower than native in int8.
    for (const m of MEASURED_UPSAMPLERS) {
      const forms = (['native', 'conv3', 'conv2'] as const).filter((f) => m.int8[f] <= m.int8.native);
      const best = forms.reduce((a, f) => (m.fp32[f] < m.fp32[a] ? f : a));
      expect(m.form, `stride ${m.stride} ${m.cin}→${m.cout}`).toBe(best);
    }
    expect(full.map(measuredUpsamplerForm)).toEqual(MEASURED_UPSAMPLERS.map((m) => m.form));
    expect(decoderUpsamplers(STABLE_AUDIO_TINY).map(measuredUpsamplerForm)).toEqual(Array(5).fill('native'));
  });

  it('buildDecoder applies them by default and takes an override', () => {
    const src = randomWeights(decoderSpec(STABLE_AUDIO_TINY), 3);
    const seen: number[][] = [];
    const g = buildDecoder(STABLE_AUDIO_TINY, src, {
      transposedConv: (l) => {
        seen.push([l.block, l.stride, l.cin, l.cout, l.frames]);
        return l.block % 2 ? 'conv3' : 'native';
      },
    });
    expect(seen).toEqual(
      decoderUpsamplers(STABLE_AUDIO_TINY).map((l) => [l.block, l.stride, l.cin, l.cout, l.frames]),
    );
    expect([
      count(g, 'TRANSPOSE_CONV'),
      count(g, 'RESHAPE') - count(buildDecoder(STABLE_AUDIO_TINY, src), 'RESHAPE'),
    ]).toEqual([2, 3]);
  });
});

describe('decoder rewrites give the same audio as the native graph (tiny decoder, LiteRT)', () => {
  const src = randomWeights(decoderSpec(STABLE_AUDIO_TINY), 9);
  const native: DecoderBuildOptions = { transposedConv: 'native', snake: '5-op', outputConv: 'conv' };
  const variants: [string, DecoderBuildOptions][] = [
    [
      'the last conv as a 1×1 conv to 7·2 channels + PAD + crops + ADDs',
      { transposedConv: 'native', snake: '5-op', outputConv: 'taps' },
    ],
    ['every measured form', {}],
    ['transposed convs as CONV_2D + RESHAPE', { transposedConv: 'conv3', snake: '5-op' }],
    ['4-op Snake', { transposedConv: 'native', snake: '4-op' }],
    ['both', { transposedConv: 'conv3', snake: '4-op' }],
    [
      'transposed convs as PAD + k=2 CONV_2D + RESHAPE + STRIDED_SLICE',
      { transposedConv: 'conv2', snake: '5-op' },
    ],
    ['conv2 and the 4-op Snake', { transposedConv: 'conv2', snake: '4-op' }],
  ];
  const lat = signal(8 * 32, 1);

  it('writes the forms asked for', () => {
    const a = buildDecoder(STABLE_AUDIO_TINY, src, native);
    const b = buildDecoder(STABLE_AUDIO_TINY, src, { transposedConv: 'conv3', snake: '4-op' });
    expect([count(a, 'TRANSPOSE_CONV'), count(b, 'TRANSPOSE_CONV')]).toEqual([5, 0]);
    // 15 residual units: one MUL fewer each (the inner Snake's α moved into the k7 conv).
    expect(count(a, 'MUL') - count(b, 'MUL')).toBe(15);
    expect([count(a, 'SIN'), count(a, 'SQUARE')]).toEqual([count(b, 'SIN'), count(b, 'SQUARE')]);
    const t = buildDecoder(STABLE_AUDIO_TINY, src, { ...native, outputConv: 'taps' });
    const delta = (op: string) => count(t, op) - count(a, op);
    expect([delta('CONV_2D'), delta('PAD'), delta('STRIDED_SLICE'), delta('ADD')]).toEqual([0, 1, 7, 6]);
  });

  it.each(variants)('fp32, %s: equal within float rounding', async (_, opts) => {
    const a = await run(buildDecoder(STABLE_AUDIO_TINY, src, native), lat);
    const b = await run(buildDecoder(STABLE_AUDIO_TINY, src, opts), lat);
    expect(peak(a)).toBeGreaterThan(1e-3);
    expect(cosine(a, b)).toBeGreaterThan(0.9999999);
    expect(maxAbsDiff(a, b)).toBeLessThan(peak(a) * 1e-5);
  });

  it.each(variants)(
    'int8 (sao-decoder-fast), %s: as close to fp32 as the native int8 file',
    async (_, opts) => {
      const recipe = await loadRecipe('sao-decoder-fast');
      const float = await run(buildDecoder(STABLE_AUDIO_TINY, src, native), lat);
      const q = (o: DecoderBuildOptions) => quantizeModel(buildDecoder(STABLE_AUDIO_TINY, src, o), recipe);
      const qa = q(native);
      const qb = q(opts);
      // The same layers quantized: the rewritten last upsampler stays float under its new op name too.
      expect(qb.report.quantized.length).toBe(qa.report.quantized.length);
      const a = await run(qa.model, lat);
      const b = await run(qb.model, lat);
      const db = (x: Float32Array) => 10 * Math.log10(snr(x, float));
      const snrA = db(a);
      const snrB = db(b);
      expect(snrA).toBeGreaterThan(25); // dB
      expect(snrB).toBeGreaterThan(snrA - 1.5); // the rewrite regroups per-channel scales: not bit-equal, as good
      expect(cosine(a, b)).toBeGreaterThan(0.999);
    },
  );
});
