import { describe, expect, it } from 'vitest';
import { AudiogenError } from './errors';
import { bf16ToFloat, floatToBf16, floatToHalf, halfToFloat, shapeSize, tensor, toFloat32 } from './tensor';

describe('tensor', () => {
  it('checks data length against the shape and dtype', () => {
    expect(tensor('float32', [2, 3]).data).toHaveLength(6);
    expect(tensor('int4', [5]).data).toHaveLength(3);
    expect(() => tensor('float32', [2, 3], new Float32Array(5))).toThrow(AudiogenError);
    expect(() => tensor('int32', [2], new Float32Array(2) as unknown as Int32Array)).toThrow(/Int32Array/);
    expect(() => shapeSize([2, -1])).toThrow(AudiogenError);
  });

  it('converts half floats like IEEE 754 binary16 (round to nearest even)', () => {
    // Known bit patterns of binary16.
    const cases: [number, number][] = [
      [0, 0x0000],
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff],
      [2 ** -24, 0x0001],
      [0.333251953125, 0x3555],
      [Number.POSITIVE_INFINITY, 0x7c00],
      [1e6, 0x7c00],
    ];
    for (const [f, h] of cases) {
      expect(floatToHalf(f)).toBe(h);
      if (Number.isFinite(f) && f <= 65504) expect(halfToFloat(h)).toBe(f);
    }
    // 1 + 2^-11 is exactly halfway between 1 and the next half; ties go to even (1).
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00);
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(Number.isNaN(halfToFloat(floatToHalf(Number.NaN)))).toBe(true);
  });

  it('converts bfloat16 with round to nearest even', () => {
    expect(floatToBf16(1)).toBe(0x3f80);
    expect(bf16ToFloat(0x3f80)).toBe(1);
    expect(floatToBf16(1 + 2 ** -8)).toBe(0x3f80); // tie → even
    expect(floatToBf16(1 + 3 * 2 ** -8)).toBe(0x3f82);
  });

  it('widens any numeric tensor to float32', () => {
    expect(Array.from(toFloat32(tensor('int64', [2], new BigInt64Array([3n, -4n]))))).toEqual([3, -4]);
    expect(Array.from(toFloat32(tensor('int4', [3], new Uint8Array([0x8f, 0x07]))))).toEqual([-1, -8, 7]);
    expect(Array.from(toFloat32(tensor('float16', [1], new Uint16Array([0x3c00]))))).toEqual([1]);
  });
});
