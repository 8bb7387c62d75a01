import { describe, expect, it } from 'vitest';
import { fmaf } from './f32';
import { fma } from './rng/mt19937';

describe('fmaf', () => {
  it('equals the exactly rounded a·b + c (checked with an exact BigInt fma, then one rounding)', () => {
    // fround(fma64(a, b, c)) can itself double-round; compare against a BigInt-exact reference instead
    const exact = (a: number, b: number, c: number) => {
      const scale = 2n ** 300n;
      const big = (x: number) => {
        const f = new Float64Array([x]);
        const bits = new BigUint64Array(f.buffer)[0]!;
        const e = Number((bits >> 52n) & 0x7ffn);
        let m = bits & 0xfffffffffffffn;
        if (e) m |= 1n << 52n;
        const ex = (e || 1) - 1075;
        const v = ex >= 0 ? m << BigInt(ex) : m;
        const sh = ex >= 0 ? 0n : BigInt(-ex);
        return { v: bits >> 63n ? -v : v, sh };
      };
      const A = big(a);
      const B = big(b);
      const C = big(c);
      // value·2^300 as an integer (all inputs are float32, exponents ≥ −149)
      const num = (A.v * B.v * scale) / 2n ** (A.sh + B.sh) + (C.v * scale) / 2n ** C.sh;
      return num;
    };
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    let seed = 12345;
    const rnd = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed;
    };
    let checked = 0;
    for (let k = 0; k < 3000; k++) {
      // floats of moderate exponent, some crafted to sit on midpoints
      u[0] = (rnd() & 0x807fffff) | ((120 + (rnd() % 15)) << 23);
      const a = f[0]!;
      u[0] = (rnd() & 0x807fffff) | ((120 + (rnd() % 15)) << 23);
      const b = f[0]!;
      const p = a * b;
      const c = k % 2 ? Math.fround(-p + Math.fround(p) * 2 ** -30) : Math.fround(-Math.fround(p) * 0.75);
      const r = fmaf(a, b, c);
      // r must be the float nearest to the exact value: compare |exact − r| with the neighbours
      const ex = exact(a, b, c);
      const scale = 2 ** 300;
      const dist = (x: number) => {
        const d = ex - BigInt(Math.round(x * scale));
        return d < 0n ? -d : d;
      };
      u[0] = 0;
      f[0] = r;
      const bits = u[0]!;
      const up = new Float32Array(new Uint32Array([bits + (r >= 0 ? 1 : -1)]).buffer)[0]!;
      const down = new Float32Array(new Uint32Array([bits + (r >= 0 ? -1 : 1)]).buffer)[0]!;
      if (r !== 0) {
        expect(dist(r) <= dist(up)).toBe(true);
        expect(dist(r) <= dist(down)).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(2900);
  });

  it('rounds once where rounding the binary64 sum would round twice', () => {
    // a·b = 2^-24 − 2^-70; a·b + c is just below the midpoint of 1 + 2^-23 and 1 + 2^-22
    const a = 1 + 2 ** -23;
    const b = (1 - 2 ** -23) * 2 ** -24;
    const c = 1 + 2 ** -23;
    expect(Math.fround(a * b + c)).toBe(1 + 2 ** -22); // double rounding: wrong
    expect(fmaf(a, b, c)).toBe(1 + 2 ** -23);
    expect(fmaf(-a, b, -c)).toBe(-(1 + 2 ** -23));
  });

  it('matches fround(fma64) away from double-rounding cases', () => {
    expect(fmaf(1.5, 2, 0.25)).toBe(3.25);
    expect(fmaf(Math.fround(0.1), Math.fround(0.3), Math.fround(-0.03))).toBe(
      Math.fround(fma(Math.fround(0.1), Math.fround(0.3), Math.fround(-0.03))),
    );
  });
});
