import { isAudiogenError } from '@audiogen/core';
import { describe, expect, it } from 'vitest';
import {
  analogPrototype,
  analyzeLoudness,
  BS1770_48K,
  biquadMagnitude,
  K_WEIGHTING_PROTOTYPES,
  kWeightingFilters,
  loudnessNormalize,
  measureLoudness,
} from './loudness';
import { sine, sineSequence, stereo } from './test/signals';
import { truePeak } from './truepeak';

describe('K-weighting coefficients', () => {
  it('reproduce the published 48 kHz coefficients (BS.1770-4 Tables 1, 2)', () => {
    const [s1, s2] = kWeightingFilters(48000);
    for (const k of ['b0', 'b1', 'b2', 'a1', 'a2'] as const) {
      expect(s1[k]).toBeCloseTo(BS1770_48K[0][k], 13);
      expect(s2[k]).toBeCloseTo(BS1770_48K[1][k], 13);
    }
  });

  it('derive the same analog prototypes as libebur128 / pyloudnorm constants', () => {
    // Independent published constants (libebur128 ebur128_init_filter): shelf f0 = 1681.974450955533 Hz,
    // G = 3.999843853973347 dB, Q = 0.7071752369554196; high-pass f0 = 38.13547087602444 Hz,
    // Q = 0.5003270373238773.
    const { shelf, highpass } = K_WEIGHTING_PROTOTYPES;
    expect(shelf.f0).toBeCloseTo(1681.974450955533, 6);
    expect(20 * Math.log10(shelf.vh)).toBeCloseTo(3.999843853973347, 8);
    expect(shelf.q).toBeCloseTo(0.7071752369554196, 8);
    // libebur128's Vb = Vh^0.4996667741545416
    expect(shelf.vb).toBeCloseTo(shelf.vh ** 0.4996667741545416, 8);
    expect(highpass.f0).toBeCloseTo(38.13547087602444, 6);
    expect(highpass.q).toBeCloseTo(0.5003270373238773, 8);
  });

  it('round-trips prototype → biquad at other rates', () => {
    for (const fs of [22050, 32000, 44100, 96000, 192000]) {
      const [s1] = kWeightingFilters(fs);
      const p = analogPrototype(s1, fs);
      expect(p.f0).toBeCloseTo(K_WEIGHTING_PROTOTYPES.shelf.f0, 6);
      expect(p.q).toBeCloseTo(K_WEIGHTING_PROTOTYPES.shelf.q, 9);
    }
  });

  it('gives the same response at 44.1 kHz as at 48 kHz below 10 kHz (within 0.02 dB)', () => {
    const r48 = kWeightingFilters(48000);
    const r44 = kWeightingFilters(44100);
    const db = (f: readonly [(typeof r48)[0], (typeof r48)[1]], fr: number, fs: number) =>
      20 * Math.log10(biquadMagnitude(f[0], fr, fs) * biquadMagnitude(f[1], fr, fs));
    for (const f of [20, 50, 100, 500, 1000, 2000, 5000, 10000]) {
      expect(Math.abs(db(r48, f, 48000) - db(r44, f, 44100))).toBeLessThan(0.02);
    }
    // The 1 kHz gain, which the −0.691 offset of BS.1770 cancels: +0.691 dB (±0.01).
    expect(Math.abs(db(r48, 1000, 48000) - 0.691)).toBeLessThan(0.01);
    // High-frequency shelf ≈ +4 dB.
    expect(db(r48, 16000, 48000)).toBeGreaterThan(3.5);
  });

  it('rejects rates too low for the shelf', () => {
    expect(() => kWeightingFilters(3000)).toThrow(/sample rate/);
  });
});

// EBU Tech 3341 (v4, 2023) Table 1, cases 1–6: synthesised 1 kHz sines; expected −23.0 / −33.0 LUFS ± 0.1.
const cases: { name: string; build: (fs: number) => Float32Array[]; expected: number }[] = [
  { name: '1: stereo −23 dBFS 20 s', build: (fs) => dup(sineSequence([[-23, 20]], fs)), expected: -23 },
  { name: '2: stereo −33 dBFS 20 s', build: (fs) => dup(sineSequence([[-33, 20]], fs)), expected: -33 },
  {
    name: '3: −36/−23/−36 dBFS, 10/60/10 s',
    build: (fs) =>
      dup(
        sineSequence(
          [
            [-36, 10],
            [-23, 60],
            [-36, 10],
          ],
          fs,
        ),
      ),
    expected: -23,
  },
  {
    name: '4: −72/−36/−23/−36/−72 dBFS, 10/10/60/10/10 s',
    build: (fs) =>
      dup(
        sineSequence(
          [
            [-72, 10],
            [-36, 10],
            [-23, 60],
            [-36, 10],
            [-72, 10],
          ],
          fs,
        ),
      ),
    expected: -23,
  },
  {
    name: '5: −26/−20/−26 dBFS, 20/20.1/20 s',
    build: (fs) =>
      dup(
        sineSequence(
          [
            [-26, 20],
            [-20, 20.1],
            [-26, 20],
          ],
          fs,
        ),
      ),
    expected: -23,
  },
  {
    name: '6: 5.0 L/R −28, C −24, Ls/Rs −30 dBFS, 20 s',
    build: (fs) => [-28, -28, -24, -30, -30].map((db) => sine(1000, db, 20, fs)),
    expected: -23,
  },
];

/** 50 ms raised-cosine fades, so abrupt edges do not ring above the steady level. */
function faded(x: Float32Array, fs: number): Float32Array {
  const n = Math.round(0.05 * fs);
  for (let i = 0; i < n; i++) {
    const g = 0.5 - 0.5 * Math.cos((Math.PI * i) / n);
    x[i] = x[i]! * g;
    x[x.length - 1 - i] = x[x.length - 1 - i]! * g;
  }
  return x;
}

function peakOf(x: Float32Array): number {
  let p = 0;
  for (const v of x) p = Math.max(p, Math.abs(v));
  return p;
}

function dup(x: Float32Array): Float32Array[] {
  return [x, x.slice()];
}

describe('integrated loudness: EBU Tech 3341 test cases 1–6', () => {
  for (const fs of [48000, 44100]) {
    for (const c of cases) {
      it(`${fs} Hz, case ${c.name} → ${c.expected} LUFS ± 0.1`, () => {
        const l = measureLoudness({ sampleRate: fs, channels: c.build(fs) });
        expect(Math.abs(l - c.expected)).toBeLessThanOrEqual(0.1);
      });
    }
  }

  it('BS.1770-4 §2.1 note: a 0 dBFS 997 Hz sine in one front channel reads −3.01 LKFS', () => {
    for (const fs of [48000, 44100]) {
      const x = sine(997, 0, 10, fs);
      const z = new Float32Array(x.length);
      expect(measureLoudness({ sampleRate: fs, channels: [x] })).toBeCloseTo(-3.01, 2);
      expect(measureLoudness({ sampleRate: fs, channels: [z, z, x, z, z] })).toBeCloseTo(-3.01, 2); // centre
    }
  });

  it('reads the same at every sample rate where the high-pass matters (50 Hz and 200 Hz tones)', () => {
    // With the raw 1, −2, 1 high-pass numerator at every rate (as libebur128 does) this spread is
    // ≈ 0.1 LU between 16 and 96 kHz; keeping the analog passband gain makes it < 0.005 LU.
    const read = (fs: number) => {
      const x = sineSequence(
        [
          [-10, 3],
          [-14, 3],
        ],
        fs,
        50,
      );
      const y = sine(200, -12, 6, fs);
      for (let i = 0; i < x.length; i++) x[i] = x[i]! + y[i]!;
      return measureLoudness(stereo(x, fs));
    };
    const values = [16000, 22050, 44100, 48000, 96000].map(read);
    expect(Math.max(...values) - Math.min(...values)).toBeLessThan(0.005);
  });

  it('case 1 reads −23.0 at other sample rates too (derived filters)', () => {
    for (const fs of [16000, 22050, 32000, 88200, 96000]) {
      const l = measureLoudness(stereo(sine(1000, -23, 20, fs), fs));
      expect(Math.abs(l + 23)).toBeLessThanOrEqual(0.05);
    }
  });

  it('5.1 in WAV order (L R C LFE Ls Rs) ignores the LFE channel', () => {
    const fs = 48000;
    const chans = [-28, -28, -24, 0, -30, -30].map((db) => sine(1000, db, 20, fs));
    expect(Math.abs(measureLoudness({ sampleRate: fs, channels: chans }) + 23)).toBeLessThanOrEqual(0.1);
  });
});

describe('gating, by hand-computed values', () => {
  it('absolute gate: blocks at or under −70 LUFS are dropped', () => {
    // A steady 1 kHz stereo sine reads its peak level in LUFS (Tech 3341 case 1), so −72 dBFS is
    // entirely under the −70 LUFS gate (no loudness) while −68 dBFS is measured.
    const fs = 48000;
    expect(measureLoudness(stereo(sine(1000, -72, 5, fs), fs))).toBe(Number.NEGATIVE_INFINITY);
    expect(Math.abs(measureLoudness(stereo(sine(1000, -68, 5, fs), fs)) + 68)).toBeLessThan(0.05);
  });

  it('relative gate: mean over blocks above (mean − 10 LU), computed by hand', () => {
    // Two steady parts of 30 s each at −20 and −28 LUFS. Ungated mean energy:
    // (10^-2 + 10^-2.8)/2 → −22.40 LUFS; gate −32.40: both parts pass, result −22.40 (±0.05; the
    // few blocks that straddle the step sit in between).
    const fs = 48000;
    const x = sineSequence(
      [
        [-20, 30],
        [-28, 30],
      ],
      fs,
    );
    const expected =
      -0.691 + 10 * Math.log10((10 ** (-20 / 10) / 2 + 10 ** (-28 / 10) / 2) * 10 ** (0.691 / 10));
    expect(Math.abs(measureLoudness(stereo(x, fs)) - expected)).toBeLessThan(0.05);
    // Now −20 and −40: gate ≈ −32.99 excludes the −40 part entirely → −20.0.
    const y = sineSequence(
      [
        [-20, 30],
        [-40, 30],
      ],
      fs,
    );
    expect(Math.abs(measureLoudness(stereo(y, fs)) + 20)).toBeLessThan(0.05);
  });

  it('is −Infinity for silence and for clips shorter than one 400 ms block', () => {
    expect(measureLoudness({ sampleRate: 48000, channels: [new Float32Array(48000)] })).toBe(
      Number.NEGATIVE_INFINITY,
    );
    expect(measureLoudness(stereo(sine(1000, -10, 0.39, 48000), 48000))).toBe(Number.NEGATIVE_INFINITY);
    expect(measureLoudness(stereo(sine(1000, -23, 0.4, 48000), 48000))).toBeCloseTo(-23, 1);
  });

  it('rejects NaN and bad weights with typed errors', () => {
    const x = sine(1000, -23, 1, 48000);
    x[100] = Number.NaN;
    expect(() => measureLoudness(stereo(x, 48000))).toThrow(
      expect.objectContaining({ code: 'NON_FINITE_AUDIO' }),
    );
    try {
      measureLoudness(stereo(sine(1000, -23, 1, 48000), 48000), { channelWeights: [1] });
    } catch (e) {
      expect(isAudiogenError(e, 'INVALID_ARGUMENT')).toBe(true);
    }
  });
});

describe('analyzeLoudness', () => {
  it('momentary and short-term of a steady −23 dBFS stereo sine are −23.0 (Tech 3341 cases 1, 2)', () => {
    const a = analyzeLoudness(stereo(sine(1000, -23, 6, 48000), 48000), { truePeak: true });
    expect(a.momentaryMax).toBeCloseTo(-23, 1);
    expect(a.shortTermMax).toBeCloseTo(-23, 1);
    expect(a.samplePeakDb).toBeCloseTo(-23, 2);
    expect(a.truePeakDb).toBeCloseTo(-23, 1);
  });

  // EBU Tech 3342 cases 1–4 (stereo 1 kHz sines, 20 s each): LRA 10, 5, 20, 15 LU ± 1.
  const lra: [string, [number, number][], number][] = [
    [
      '1: −20, −30 dBFS',
      [
        [-20, 20],
        [-30, 20],
      ],
      10,
    ],
    [
      '2: −20, −15 dBFS',
      [
        [-20, 20],
        [-15, 20],
      ],
      5,
    ],
    [
      '3: −40, −20 dBFS',
      [
        [-40, 20],
        [-20, 20],
      ],
      20,
    ],
    [
      '4: −50, −35, −20, −35, −50 dBFS',
      [
        [-50, 20],
        [-35, 20],
        [-20, 20],
        [-35, 20],
        [-50, 20],
      ],
      15,
    ],
  ];
  for (const [name, segs, expected] of lra) {
    it(`loudness range, EBU Tech 3342 case ${name} → ${expected} LU ± 1`, () => {
      const a = analyzeLoudness(stereo(sineSequence(segs, 48000), 48000));
      expect(Math.abs(a.loudnessRange - expected)).toBeLessThanOrEqual(1);
    });
  }
});

describe('true peak', () => {
  it('finds the inter-sample peak of a sine at fs/4 sampled at ±45° (sample peak is 3.01 dB lower)', () => {
    const fs = 48000;
    const x = faded(sine(fs / 4, -6, 1, fs, Math.PI / 4), fs);
    const clip = stereo(x, fs);
    const sp = 20 * Math.log10(peakOf(x));
    expect(sp).toBeCloseTo(-6 - 3.0103, 3);
    expect(20 * Math.log10(truePeak(clip))).toBeCloseTo(-6, 1);
  });

  it('is within 0.05 dB of the analytic peak for sines across the band at 44.1 kHz', () => {
    const fs = 44100;
    for (const f of [997, 5001, 11025, 15000, 18000]) {
      const x = faded(sine(f, -3, 0.5, fs, 0.3), fs);
      const tp = 20 * Math.log10(truePeak({ sampleRate: fs, channels: [x] }));
      expect(Math.abs(tp + 3)).toBeLessThan(0.05);
    }
  });
});

describe('loudnessNormalize', () => {
  it('reaches the target within 0.01 LU', () => {
    const fs = 44100;
    const clip = stereo(sineSequence([[-30, 5]], fs, 440), fs);
    const out = loudnessNormalize(clip, -14);
    expect(measureLoudness(out)).toBeCloseTo(-14, 2);
  });

  it('honours a ceiling (peak wins over the target)', () => {
    const fs = 44100;
    const clip = stereo(sineSequence([[-30, 5]], fs, 440), fs);
    const out = loudnessNormalize(clip, -3, { ceilingDb: -6 });
    const peak = peakOf(out.channels[0]!);
    expect(20 * Math.log10(peak)).toBeCloseTo(-6, 3);
  });

  it('leaves silence unchanged', () => {
    const out = loudnessNormalize({ sampleRate: 48000, channels: [new Float32Array(48000)] }, -23);
    expect(out.channels[0]!.every((v) => v === 0)).toBe(true);
  });
});
