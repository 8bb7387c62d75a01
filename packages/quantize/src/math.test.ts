import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  castToFloat16,
  packQuantized,
  quantizeWeights,
  rint,
  scaleFromMinMax,
  unpackQuantized,
} from './math';
import type { Granularity } from './recipe';

interface Case {
  name: string;
  shape: number[];
  num_bits: number;
  symmetric: boolean;
  granularity: Granularity;
  dim: number | null;
  data_f32_hex: string;
  scale_f32_hex: string;
  zero_point: number[];
  q: number[];
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/aeq-math.json', import.meta.url), 'utf8')) as {
  cases: Case[];
  fp16: { data_f32_hex: string; f16_hex: string };
};
const f32 = (hex: string) => new Float32Array(new Uint8Array(Buffer.from(hex, 'hex')).buffer);
const u32hex = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');

describe('quantization math (reference: AEQ uniform_quantize_tensor, fixtures/aeq-math.json)', () => {
  for (const c of fixture.cases) {
    it(`${c.name}: scales and values bit-identical to AEQ`, () => {
      const data = f32(c.data_f32_hex);
      const blockwise = c.granularity.startsWith('BLOCKWISE');
      const { q, params } = quantizeWeights(data, c.shape, {
        numBits: c.num_bits,
        symmetric: c.symmetric,
        granularity: c.granularity,
        ...(c.granularity === 'CHANNELWISE' ? { channelDim: c.dim! } : {}),
        ...(blockwise ? { blockDim: c.dim! } : {}),
      });
      expect(u32hex(params.scale)).toBe(c.scale_f32_hex);
      expect(Array.from(params.zeroPoint)).toEqual(c.zero_point);
      expect(Array.from(q)).toEqual(c.q);
    });
  }

  it('fp16 casting is numpy astype(float16) (round to nearest even, overflow to inf)', () => {
    const bytes = castToFloat16(f32(fixture.fp16.data_f32_hex));
    expect(Buffer.from(bytes).toString('hex')).toBe(fixture.fp16.f16_hex);
  });
});

describe('hand-computed values', () => {
  it('rint rounds half to even', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999, 2.5001].map(rint)).toEqual([0, 2, 2, -0, -2, -2, 2, 3]);
  });

  it('symmetric int8 scale is max|w| / 127 and narrow range [-127, 127]', () => {
    const w = new Float32Array([-1.27, 0.635, 0.005, 1.0]);
    const { q, params } = quantizeWeights(w, [4], { numBits: 8, symmetric: true, granularity: 'TENSORWISE' });
    expect(params.scale[0]).toBe(Math.fround(Math.fround(1.27) / 127));
    // -1.27/0.01 = -127; 0.635/0.01 = 63.5 → 64 (even); 0.005/0.01 = 0.5 → 0 (even); 1.0/0.01 = 100
    expect(Array.from(q)).toEqual([-127, 64, 0, 100]);
  });

  it('asymmetric int8 uses [-128,127], range includes 0, zp = rint(qmin - min/scale)', () => {
    const w = new Float32Array([0.5, 1, 2.55]); // min clamped to 0 → scale 2.55/255 = 0.01, zp = -128
    const { q, params } = quantizeWeights(w, [3], {
      numBits: 8,
      symmetric: false,
      granularity: 'TENSORWISE',
    });
    expect(params.scale[0]).toBe(Math.fround(Math.fround(2.55) / 255));
    expect(params.zeroPoint[0]).toBe(-128);
    expect(Array.from(q)).toEqual([-78, -28, 127]);
  });

  it('symmetric int4 uses the full range [-8, 7]', () => {
    const w = new Float32Array([-1.1, 0.7]);
    const { q, params } = quantizeWeights(w, [2], { numBits: 4, symmetric: true, granularity: 'TENSORWISE' });
    expect(params.scale[0]).toBe(Math.fround(Math.fround(1.1) / 7));
    expect(Array.from(q)).toEqual([-7, 4]);
  });

  it('per-channel scales follow the channel dim', () => {
    const w = new Float32Array([1, -2, 0.5, 0.25]); // [2,2], dim 0
    const { params } = quantizeWeights(w, [2, 2], {
      numBits: 8,
      symmetric: true,
      granularity: 'CHANNELWISE',
      channelDim: 0,
    });
    expect(Array.from(params.scale)).toEqual([Math.fround(2 / 127), Math.fround(0.5 / 127)]);
    const p1 = quantizeWeights(w, [2, 2], {
      numBits: 8,
      symmetric: true,
      granularity: 'CHANNELWISE',
      channelDim: 1,
    });
    expect(Array.from(p1.params.scale)).toEqual([Math.fround(1 / 127), Math.fround(2 / 127)]);
  });

  it('blockwise scales are rounded to bf16 then stored as fp16', () => {
    // 0.3/7 = 0.042857… → bf16 0.04296875 (8-bit mantissa)
    const { scale } = scaleFromMinMax(new Float32Array([-0.3]), new Float32Array([0.1]), 4, true, true);
    expect(scale[0]).toBe(0.04296875);
  });

  it('blockwise rejects a dimension not divisible by the block size', () => {
    expect(() =>
      quantizeWeights(new Float32Array(2 * 48), [2, 48], {
        numBits: 4,
        symmetric: true,
        granularity: 'BLOCKWISE_32',
        blockDim: 1,
      }),
    ).toThrow(/not divisible by block size 32/);
  });

  it('int4 packing: element 2i in the low nibble; odd count; round trip', () => {
    const q = Int32Array.from([1, -1, 7, -8, 3]);
    const b = packQuantized(q, 4);
    expect(Array.from(b)).toEqual([0xf1, 0x87, 0x03]);
    expect(Array.from(unpackQuantized(b, 4, 5))).toEqual([1, -1, 7, -8, 3]);
    const b2 = packQuantized(Int32Array.from([1, -2, 0, -1, 1]), 2);
    expect(Array.from(b2)).toEqual([0b11_00_10_01, 0b01]);
    expect(Array.from(unpackQuantized(b2, 2, 5))).toEqual([1, -2, 0, -1, 1]);
  });
});
