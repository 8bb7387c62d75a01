import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isAudiogenError } from '@audiogen/core';
import { describe, expect, it } from 'vitest';
import { createNoiseSource, philoxStreamId } from './index';
import { detCosSinTurn, detLog, PhiloxNormalStream, philox4x32 } from './philox';

const hex = (a: Uint32Array) => Array.from(a, (w) => w.toString(16).padStart(8, '0'));
const bitsOf = (a: Float32Array) =>
  Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length), (w) => w.toString(16).padStart(8, '0'));

describe('Philox4x32-10', () => {
  // Known-answer vectors of Random123 (kat_vectors): counter[4] key[2] → output[4]
  const kat: [number[], number[], string[]][] = [
    [
      [0, 0, 0, 0],
      [0, 0],
      ['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8'],
    ],
    [
      [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
      [0xffffffff, 0xffffffff],
      ['408f276d', '41c83b0e', 'a20bc7c6', '6d5451fd'],
    ],
    [
      [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
      [0xa4093822, 0x299f31d0],
      ['d16cfe09', '94fdcceb', '5001e420', '24126ea1'],
    ],
  ];
  for (const [c, k, want] of kat) {
    it(`KAT ctr=${c.map((v) => v.toString(16)).join(',')}`, () => {
      const out = new Uint32Array(4);
      philox4x32(c[0]!, c[1]!, c[2]!, c[3]!, k[0]!, k[1]!, out);
      expect(hex(out)).toEqual(want);
    });
  }
});

describe('deterministic math', () => {
  it('detLog is within 2e-16·(1+|ln x|) of Math.log on (0, 1]', () => {
    let worst = 0;
    for (let i = 0; i < 20000; i++) {
      const x = (((i * 2654435761) >>> 0) + 0.5) * 2 ** -32;
      const err = Math.abs(detLog(x) - Math.log(x)) / (1 + Math.abs(Math.log(x)));
      worst = Math.max(worst, err);
    }
    expect(worst).toBeLessThan(4e-16);
    expect(detLog(1)).toBe(0);
    expect(detLog(0.5)).toBe(-Math.LN2);
  });

  it('cos/sin of a turn fraction match Math.cos/Math.sin to 1e-15 and hit the axes exactly', () => {
    let worst = 0;
    for (let i = 0; i < 20000; i++) {
      const b = (i * 2654435761) >>> 0;
      const [c, s] = detCosSinTurn(b);
      const th = (2 * Math.PI * b) / 2 ** 32;
      worst = Math.max(worst, Math.abs(c - Math.cos(th)), Math.abs(s - Math.sin(th)));
    }
    expect(worst).toBeLessThan(1e-15);
    expect(detCosSinTurn(0)).toEqual([1, 0]);
    expect(detCosSinTurn(2 ** 30)).toEqual([-0, 1]);
    expect(detCosSinTurn(2 ** 31)).toEqual([-1, -0]);
  });
});

describe('philox noise streams', () => {
  // Golden values of the specification (seed 0, init stream): any implementation must print these.
  it('golden values: seed 0, init stream, first 8 normals', () => {
    const out = new Float32Array(8);
    createNoiseSource(0).stream('init').fillNormal(out);
    expect(bitsOf(out)).toEqual([
      '3f7dbb33',
      'bf6cb6b0',
      'bf1e1b9f',
      'bef6d1b2',
      'be1d5357',
      '3e392a6d',
      '3f54ec98',
      '3e4a2da3',
    ]);
  });

  const py = spawnSync('python3', ['--version']);
  it.skipIf(py.status !== 0)('an independent Python implementation of the spec gives the same bits', () => {
    const script = fileURLToPath(new URL('../../scripts/philox_ref.py', import.meta.url));
    for (const [seed, purpose, index] of [
      [0, 'init', 0],
      [123456789, 'step', 0],
      [4294967295, 'step', 7],
    ] as const) {
      const n = 2003;
      const r = spawnSync(
        'python3',
        [script, String(seed), String(philoxStreamId(purpose, index)), String(n)],
        {
          encoding: 'utf8',
        },
      );
      expect(r.status, r.stderr).toBe(0);
      const out = new Float32Array(n);
      createNoiseSource(seed).stream(purpose, index).fillNormal(out);
      expect(bitsOf(out)).toEqual(r.stdout.trim().split('\n'));
    }
  });

  it('is deterministic and fresh per stream() call', () => {
    const a = new Float32Array(1000);
    const b = new Float32Array(1000);
    createNoiseSource(7).stream('step', 3).fillNormal(a);
    const src = createNoiseSource(7);
    src.stream('init').fillNormal(new Float32Array(10));
    src.stream('step', 3).fillNormal(b);
    expect(b).toEqual(a);
  });

  it('split fills equal one fill (the stream has no per-call state loss)', () => {
    const whole = new Float32Array(23);
    new PhiloxNormalStream(5, 0).fillNormal(whole);
    const s = new PhiloxNormalStream(5, 0);
    const parts = [new Float32Array(3), new Float32Array(1), new Float32Array(19)];
    for (const p of parts) s.fillNormal(p);
    expect(Float32Array.from(parts.flatMap((p) => Array.from(p)))).toEqual(whole);
  });

  it('streams per purpose and per seed are different and uncorrelated', () => {
    const n = 65536;
    const get = (seed: number, p: 'init' | 'step', i?: number) => {
      const o = new Float32Array(n);
      createNoiseSource(seed).stream(p, i).fillNormal(o);
      return o;
    };
    const base = get(1, 'init');
    for (const other of [get(1, 'step', 0), get(1, 'step', 1), get(2, 'init')]) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += base[i]! * other[i]!;
      expect(Math.abs(dot / n)).toBeLessThan(5 / Math.sqrt(n));
    }
  });

  it('has standard-normal moments and tails (n = 2^18)', () => {
    const n = 1 << 18;
    const x = new Float32Array(n);
    createNoiseSource(2024).stream('init').fillNormal(x);
    let m1 = 0;
    let m2 = 0;
    let m3 = 0;
    let m4 = 0;
    let beyond2 = 0;
    for (const v of x) {
      m1 += v;
      m2 += v * v;
      m3 += v * v * v;
      m4 += v * v * v * v;
      if (Math.abs(v) > 2) beyond2++;
    }
    m1 /= n;
    m2 /= n;
    m3 /= n;
    m4 /= n;
    expect(Math.abs(m1)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(m2 - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
    expect(Math.abs(m3)).toBeLessThan(5 * Math.sqrt(15 / n));
    expect(Math.abs(m4 - 3)).toBeLessThan(5 * Math.sqrt(96 / n));
    // P(|Z| > 2) = 0.0455003
    expect(Math.abs(beyond2 / n - 0.0455003)).toBeLessThan(5 * Math.sqrt((0.0455 * 0.9545) / n));
    for (const v of x) if (!Number.isFinite(v)) throw new Error('non-finite noise');
  });

  it('rejects bad seeds, purposes and indices with typed errors', () => {
    for (const bad of [-1, 1.5, 2 ** 32, Number.NaN]) {
      expect(() => createNoiseSource(bad)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
    const s = createNoiseSource(1);
    expect(() => s.stream('step', -1)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => s.stream('bogus' as 'init')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    try {
      createNoiseSource(1, { kind: 'xorshift' as 'philox' });
      expect.unreachable();
    } catch (e) {
      expect(isAudiogenError(e, 'INVALID_ARGUMENT')).toBe(true);
    }
  });
});
