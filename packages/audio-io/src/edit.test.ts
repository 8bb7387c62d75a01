import { type AudioClip, AudiogenError } from '@audiogen/core';
import { describe, expect, it } from 'vitest';
import { defaultMixMatrix, fadeClip, mixChannels, peakNormalize, trimClip } from './edit';
import { measureLoudness } from './loudness';
import { applyOutputPolicy, applyOutputPolicyDetailed, TRIM_FADE_OUT } from './policy';
import { sine, stereo } from './test/signals';

const ramp = (n: number, scale = 1) => Float32Array.from({ length: n }, (_, i) => ((i + 1) / n) * scale);
const peak = (c: AudioClip) =>
  Math.max(...c.channels.map((ch) => ch.reduce((m, v) => Math.max(m, Math.abs(v)), 0)));
const db = (g: number) => 20 * Math.log10(g);

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(AudiogenError);
    return (e as AudiogenError).code;
  }
  return 'none';
}

describe('trimClip', () => {
  it('keeps [start, start + duration) in whole frames and copies', () => {
    const clip = { sampleRate: 10, channels: [ramp(100), ramp(100, -1)] };
    const t = trimClip(clip, { start: 1, duration: 2.5 });
    expect(t.channels[0]!.length).toBe(25);
    expect(t.channels[0]![0]).toBe(clip.channels[0]![10]);
    expect(t.channels[1]![24]).toBe(clip.channels[1]![34]);
    t.channels[0]![0] = 99;
    expect(clip.channels[0]![10]).not.toBe(99);
    expect(trimClip(clip, { duration: 100 }).channels[0]!.length).toBe(100);
    expect(trimClip(clip, { start: 20 }).channels[0]!.length).toBe(0);
    expect(code(() => trimClip(clip, { start: -1 }))).toBe('INVALID_ARGUMENT');
    expect(code(() => trimClip(clip, { duration: Number.NaN }))).toBe('INVALID_ARGUMENT');
  });
});

describe('fadeClip', () => {
  it('cosine fades: first/last sample 0, midpoint 0.5, untouched middle', () => {
    const clip = { sampleRate: 100, channels: [new Float32Array(100).fill(1)] };
    const f = fadeClip(clip, { in: 0.1, out: 0.2 }).channels[0]!;
    expect(f[0]).toBe(0);
    expect(f[5]).toBeCloseTo(0.5, 6); // 0.5 − 0.5·cos(π·5/10)
    expect(f[3]).toBeCloseTo(0.5 - 0.5 * Math.cos((Math.PI * 3) / 10), 6);
    expect(f[10]).toBe(1);
    expect(f[79]).toBe(1);
    expect(f[99]).toBe(0);
    expect(f[89]).toBeCloseTo(0.5, 6);
    const lin = fadeClip(clip, { in: 0.1, shape: 'linear' }).channels[0]!;
    expect(lin[4]).toBeCloseTo(0.4, 6);
    const ep = fadeClip(clip, { in: 0.1, shape: 'equal-power' }).channels[0]!;
    expect(ep[5]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(code(() => fadeClip(clip, { in: 0.1, shape: 'exp' as 'linear' }))).toBe('INVALID_ARGUMENT');
  });
  it('clamps fades longer than the clip', () => {
    const f = fadeClip({ sampleRate: 10, channels: [new Float32Array(5).fill(1)] }, { in: 10 }).channels[0]!;
    expect(Array.from(f)).toEqual(
      [0, 0.2, 0.4, 0.6, 0.8].map((t) => Math.fround(0.5 - 0.5 * Math.cos(Math.PI * t))),
    );
  });
});

describe('mixChannels', () => {
  const L = Float32Array.from([1, 0.5, 0]);
  const R = Float32Array.from([0, 0.5, 1]);
  it('mono ↔ stereo', () => {
    const up = mixChannels({ sampleRate: 8000, channels: [L] }, 2);
    expect(up.channels.map((c) => Array.from(c))).toEqual([Array.from(L), Array.from(L)]);
    const down = mixChannels({ sampleRate: 8000, channels: [L, R] }, 1);
    expect(Array.from(down.channels[0]!)).toEqual([0.5, 0.5, 0.5]);
  });
  it('5.1 → stereo is ITU-R BS.775 (C, Ls/Rs at −3 dB; LFE dropped)', () => {
    const one = Float32Array.from([1]);
    const zero = () => Float32Array.from([0]);
    for (const [idx, wantL, wantR] of [
      [0, 1, 0],
      [1, 0, 1],
      [2, Math.SQRT1_2, Math.SQRT1_2],
      [3, 0, 0],
      [4, Math.SQRT1_2, 0],
      [5, 0, Math.SQRT1_2],
    ] as const) {
      const chans = Array.from({ length: 6 }, (_, i) => (i === idx ? one : zero()));
      const st = mixChannels({ sampleRate: 48000, channels: chans }, 2);
      expect(st.channels[0]![0]).toBeCloseTo(wantL, 6);
      expect(st.channels[1]![0]).toBeCloseTo(wantR, 6);
    }
    expect(defaultMixMatrix(1, 6)[2]).toEqual([1]);
  });
  it('explicit matrices, and typed errors for impossible defaults', () => {
    const swapped = mixChannels({ sampleRate: 8000, channels: [L, R] }, 2, {
      matrix: [
        [0, 1],
        [1, 0],
      ],
    });
    expect(Array.from(swapped.channels[0]!)).toEqual(Array.from(R));
    expect(code(() => mixChannels({ sampleRate: 8000, channels: [L, R, L] }, 2))).toBe('UNSUPPORTED');
    expect(code(() => mixChannels({ sampleRate: 8000, channels: [L] }, 2, { matrix: [[1]] }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(code(() => mixChannels({ sampleRate: 8000, channels: [L] }, 0))).toBe('INVALID_ARGUMENT');
  });
});

describe('peakNormalize', () => {
  it('scales the peak to −1 dBFS by default; boost:false only turns down', () => {
    const c = stereo(sine(1000, -12, 0.1, 48000), 48000);
    expect(db(peak(peakNormalize(c)))).toBeCloseTo(-1, 4);
    expect(db(peak(peakNormalize(c, { peakDb: -3 })))).toBeCloseTo(-3, 4);
    expect(peak(peakNormalize(c, { boost: false }))).toBe(peak(c));
    const silent = { sampleRate: 48000, channels: [new Float32Array(10)] };
    expect(peak(peakNormalize(silent))).toBe(0);
  });
});

describe('applyOutputPolicy', () => {
  const hot = () => {
    const x = sine(440, 0, 1, 44100);
    for (let i = 0; i < x.length; i++) x[i] = x[i]! * 1.8; // peaks at +5.1 dBFS
    return stereo(x, 44100);
  };

  it('default: peak protection to −1 dBFS, no clipping, shape preserved', () => {
    const c = hot();
    const r = applyOutputPolicyDetailed(c);
    expect(r.outputPeakDb).toBeCloseTo(-1, 6);
    expect(db(peak(r.clip))).toBeCloseTo(-1, 4);
    expect(r.limitedByCeiling).toBe(true);
    // Pure gain: every sample keeps its ratio to the input.
    const g = r.clip.channels[0]![100]! / c.channels[0]![100]!;
    expect(r.clip.channels[0]![200]! / c.channels[0]![200]!).toBeCloseTo(g, 5);
    expect(db(g)).toBeCloseTo(r.gainDb, 4);
  });

  it('default leaves quiet audio untouched (no boost)', () => {
    const c = stereo(sine(440, -20, 1, 44100), 44100);
    const out = applyOutputPolicy(c);
    expect(Array.from(out.channels[0]!)).toEqual(Array.from(c.channels[0]!));
    expect(out.channels[0]).not.toBe(c.channels[0]); // a copy, not the caller's array
  });

  it("'raw' changes nothing (but still refuses NaN)", () => {
    const c = hot();
    expect(Array.from(applyOutputPolicy(c, 'raw').channels[1]!)).toEqual(Array.from(c.channels[1]!));
    c.channels[0]![7] = Number.NaN;
    expect(code(() => applyOutputPolicy(c, 'raw'))).toBe('NON_FINITE_AUDIO');
    expect(code(() => applyOutputPolicy(c))).toBe('NON_FINITE_AUDIO');
  });

  it('loudness target, with the ceiling winning when both cannot hold', () => {
    const quiet = stereo(sine(440, -30, 5, 44100), 44100);
    const r = applyOutputPolicyDetailed(quiet, { loudnessLufs: -23 });
    expect(measureLoudness(r.clip)).toBeCloseTo(-23, 1);
    expect(r.outputLoudness).toBeCloseTo(-23, 6);
    expect(r.limitedByCeiling).toBe(false);
    const r2 = applyOutputPolicyDetailed(quiet, { loudnessLufs: 0, ceilingDb: -1 });
    expect(r2.limitedByCeiling).toBe(true);
    expect(db(peak(r2.clip))).toBeCloseTo(-1, 4);
    const r3 = applyOutputPolicyDetailed(quiet, { loudnessLufs: 0, peak: 'off' });
    expect(measureLoudness(r3.clip)).toBeCloseTo(0, 1);
  });

  it('peak normalize, true-peak ceiling', () => {
    const c = stereo(sine(440, -20, 1, 44100), 44100);
    expect(db(peak(applyOutputPolicy(c, { peak: 'normalize', ceilingDb: -0.5 })))).toBeCloseTo(-0.5, 4);
    const tp = applyOutputPolicyDetailed(hot(), { truePeak: true });
    expect(tp.outputPeakDb).toBeCloseTo(-1, 6);
    expect(db(peak(tp.clip))).toBeLessThanOrEqual(-1 + 1e-6);
    expect(code(() => applyOutputPolicy(c, { peak: 'normalize', loudnessLufs: -14 }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(code(() => applyOutputPolicy(c, { peak: 'loud' as 'off' }))).toBe('INVALID_ARGUMENT');
    expect(code(() => applyOutputPolicy(c, { ceilingDb: Number.NaN }))).toBe('INVALID_ARGUMENT');
  });

  it('trim to a duration adds a short fade-out when it cuts the clip; explicit fades apply', () => {
    const c = stereo(sine(440, -6, 3, 44100, Math.PI / 2), 44100);
    const t = applyOutputPolicy(c, { trim: { duration: 2 } });
    expect(t.channels[0]!.length).toBe(88200);
    expect(t.channels[0]![88199]).toBe(0);
    // The fade is TRIM_FADE_OUT long: the sample just before it is untouched.
    const n = Math.round(TRIM_FADE_OUT * 44100);
    expect(t.channels[0]![88200 - n - 1]).toBe(c.channels[0]![88200 - n - 1]);
    expect(t.channels[0]![0]).toBe(c.channels[0]![0]); // start not cut: no fade-in
    const late = applyOutputPolicy(c, { trim: { start: 0.5, duration: 1 } });
    expect(late.channels[0]![0]).toBe(0); // start cut: 10 ms fade-in
    expect(late.channels[0]![n + 1]).toBe(c.channels[0]![22050 + n + 1]);
    const whole = applyOutputPolicy(c, { trim: { duration: 5 } });
    expect(whole.channels[0]![whole.channels[0]!.length - 1]).toBe(c.channels[0]![c.channels[0]!.length - 1]);
    const faded = applyOutputPolicy(c, { fadeIn: 0.05, fadeOut: 0.05 });
    expect(faded.channels[1]![0]).toBe(0);
    expect(faded.channels[1]![faded.channels[1]!.length - 1]).toBe(0);
  });

  it('rejects malformed clips and policies', () => {
    expect(code(() => applyOutputPolicy(null as unknown as AudioClip))).toBe('INVALID_ARGUMENT');
    expect(code(() => applyOutputPolicy(stereo(ramp(10), 44100), 5 as unknown as 'raw'))).toBe(
      'INVALID_ARGUMENT',
    );
  });
});
