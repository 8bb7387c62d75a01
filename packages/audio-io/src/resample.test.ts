import { isAudiogenError } from '@audiogen/core';
import { describe, expect, it } from 'vitest';
import { besselI0, designResampler, kaiserBeta, resampleChannel, resampleClip } from './resample';
import { fitSine } from './test/signals';

/** A long sine with raised-cosine edges; measurements skip the edges. */
function tone(f: number, fs: number, n: number, amp = 0.5): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = amp * Math.sin((2 * Math.PI * f * i) / fs + 0.1);
  return x;
}

/** Gain (dB) of the resampler at f, from a least-squares sine fit of the output, and the level of
 * everything else (images, aliases, error) relative to the input amplitude (dB). */
function measure(fromRate: number, toRate: number, f: number, seconds = 0.25) {
  const design = designResampler(fromRate, toRate);
  const n = Math.round(seconds * fromRate);
  const amp = 0.5;
  const y = resampleChannel(tone(f, fromRate, n, amp), design);
  // Skip the kernel's reach at both ends (edges are not steady state).
  const edge = Math.ceil((design.taps * toRate) / fromRate) + 4;
  const fit = fitSine(y, f, toRate, edge, y.length - edge);
  return {
    gainDb: 20 * Math.log10(fit.amplitude / amp),
    spuriousDb: 20 * Math.log10((fit.residualRms * Math.SQRT2) / amp),
    outRmsDb: 20 * Math.log10((rms(y, edge, y.length - edge) * Math.SQRT2) / amp),
  };
}

function rms(x: Float32Array, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s / (to - from));
}

describe('Kaiser design helpers', () => {
  it('I0 matches tabulated values', () => {
    // Abramowitz & Stegun Table 9.8: I0(1) = 1.266065878, I0(5) = 27.23987182, e^-10·I0(10) = 0.1278333372.
    expect(besselI0(0)).toBe(1);
    expect(besselI0(1)).toBeCloseTo(1.266065878, 8);
    expect(besselI0(5)).toBeCloseTo(27.23987182, 6);
    expect(besselI0(10) * Math.exp(-10)).toBeCloseTo(0.1278333372, 9);
  });
  it('β follows Kaiser’s formula', () => {
    expect(kaiserBeta(120)).toBeCloseTo(0.1102 * 111.3, 10);
    expect(kaiserBeta(40)).toBeCloseTo(0.5842 * 19 ** 0.4 + 0.07886 * 19, 10);
  });
});

// The stated performance of the default design: stopband ≥ 120 dB from the lower Nyquist frequency,
// passband within ±0.00002 dB of unity up to 0.9 of it. Measured end to end with sines, as a user would see it.
const STOPBAND_DB = 120;
const RIPPLE_DB = 0.00002; // ± deviation from 0 dB

describe('resampler filter response (every phase, dense frequency grid)', () => {
  for (const [from, to] of [
    [48000, 44100],
    [44100, 48000],
    [32000, 44100],
  ] as const) {
    it(`${from} → ${to} Hz: each polyphase branch is flat in the passband and ≤ −${STOPBAND_DB} dB above Nyquist`, () => {
      const d = designResampler(from, to);
      let worstStop = Number.NEGATIVE_INFINITY;
      let maxDev = 0;
      // Each output sample uses one branch h_p[j] at input rate: its DTFT over [0, from/2] says what
      // that branch passes (passband) and what it folds back (anything above the lower Nyquist).
      for (let p = 0; p < d.up; p++) {
        const h = d.phase(p);
        const mag = (f: number) => {
          const w = (2 * Math.PI * f) / from;
          let re = 0;
          let im = 0;
          for (let j = 0; j < h.length; j++) {
            re += h[j]! * Math.cos(w * j);
            im -= h[j]! * Math.sin(w * j);
          }
          return Math.hypot(re, im);
        };
        for (let f = 0; f <= d.passbandHz; f += d.passbandHz / 40) {
          maxDev = Math.max(maxDev, Math.abs(20 * Math.log10(mag(f))));
        }
        if (from > to) {
          for (let f = d.stopbandHz; f <= from / 2; f += (from / 2 - d.stopbandHz) / 60) {
            worstStop = Math.max(worstStop, 20 * Math.log10(mag(f)));
          }
        }
      }
      expect(maxDev).toBeLessThan(RIPPLE_DB);
      if (from > to) expect(worstStop).toBeLessThan(-STOPBAND_DB);
    });
  }
});

describe('resampler performance (measured end to end)', () => {
  for (const [from, to] of [
    [48000, 44100],
    [16000, 44100],
    [22050, 44100],
    [44100, 48000],
  ] as const) {
    it(`${from} → ${to} Hz: passband flat to ${2 * RIPPLE_DB} dB p-p, images/aliases ≤ −${STOPBAND_DB} dB`, () => {
      const design = designResampler(from, to);
      const nyqLow = Math.min(from, to) / 2;
      const gains: number[] = [];
      let worstSpurious = Number.NEGATIVE_INFINITY;
      for (const f of [
        50,
        997,
        0.25 * nyqLow,
        0.5 * nyqLow,
        0.7 * nyqLow,
        0.8 * nyqLow,
        0.85 * nyqLow,
        0.9 * nyqLow,
      ]) {
        const m = measure(from, to, f);
        gains.push(m.gainDb);
        worstSpurious = Math.max(worstSpurious, m.spuriousDb);
      }
      const ripple = Math.max(...gains) - Math.min(...gains);
      expect(ripple).toBeLessThan(2 * RIPPLE_DB);
      // In-band tones: everything that is not the tone (images of an upsampler, float32 rounding) ≤ −120 dB.
      expect(worstSpurious).toBeLessThan(-STOPBAND_DB);
      // Above the lower Nyquist (downsampling only): tones must vanish (no aliasing).
      if (to < from) {
        for (const f of [nyqLow * 1.001, nyqLow * 1.05, nyqLow * 1.08, from / 2 - 100]) {
          expect(measure(from, to, f).outRmsDb).toBeLessThan(-STOPBAND_DB);
        }
      }
      expect(design.stopbandAttenuationDb).toBe(STOPBAND_DB);
    });
  }

  it('keeps DC exactly and maps lengths by the ratio', () => {
    const x = new Float32Array(48000).fill(0.25);
    const y = resampleClip({ sampleRate: 48000, channels: [x] }, 44100).channels[0]!;
    expect(y.length).toBe(44100);
    for (let i = 200; i < y.length - 200; i += 97) expect(y[i]).toBeCloseTo(0.25, 6);
  });

  it('handles ratios with huge L (dense-table path): 44100 → 44101', () => {
    const design = designResampler(44100, 44101);
    expect(design.up).toBe(44101);
    const m = measure(44100, 44101, 1000, 0.1);
    expect(Math.abs(m.gainDb)).toBeLessThan(0.0002);
    expect(m.spuriousDb).toBeLessThan(-120);
  });

  it('is identity (copy) for equal rates and validates arguments', () => {
    const x = new Float32Array([0.1, 0.2]);
    const out = resampleClip({ sampleRate: 44100, channels: [x] }, 44100);
    expect(Array.from(out.channels[0]!)).toEqual(Array.from(x));
    expect(out.channels[0]).not.toBe(x);
    for (const bad of [0, -1, 44100.5, Number.NaN]) {
      try {
        resampleClip({ sampleRate: 48000, channels: [x] }, bad);
        expect.unreachable();
      } catch (e) {
        expect(isAudiogenError(e, 'INVALID_ARGUMENT')).toBe(true);
      }
    }
  });

  it('resamples 11.9 s of stereo 48 kHz → 44.1 kHz in reasonable time', () => {
    const n = 524288;
    const ch = tone(440, 48000, n);
    const t0 = performance.now();
    const out = resampleClip({ sampleRate: 48000, channels: [ch, ch] }, 44100);
    const ms = performance.now() - t0;
    expect(out.channels[0]!.length).toBe(Math.ceil((n * 147) / 160));
    console.log(
      `resample 48k→44.1k stereo ${n} frames: ${ms.toFixed(0)} ms, ${designResampler(48000, 44100).taps} taps`,
    );
    expect(ms).toBeLessThan(20000);
  });
});
