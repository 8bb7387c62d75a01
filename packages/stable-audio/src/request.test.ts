import { type AudiogenError, audioClip, isAudiogenError } from '@audiogen/core';
import { describe, expect, it } from 'vitest';
import {
  prepareStableAudioRequest,
  type StableAudioLimits,
  type StableAudioOptionName,
  type StableAudioRequestOptions,
} from './request';
import { samplerApi } from './sampling';

// SAO-small's facts: 524,288 frames at 44.1 kHz, stereo encoder.
const LIMITS: StableAudioLimits = {
  sampleRate: 44100,
  decoderFrames: 524288,
  maxSeconds: 524288 / 44100,
  steps: 8,
  sampler: 'pingpong',
  cfgScale: 1,
  encoderChannels: 2,
  dir: 'models/sao-small',
};
const api = samplerApi();
const prep = (o: Partial<StableAudioRequestOptions>, limits = LIMITS, names = {}) =>
  prepareStableAudioRequest({ prompt: 'rain', ...o }, limits, { api, names });

function fails(o: Partial<StableAudioRequestOptions>, code: string, re: RegExp, limits = LIMITS) {
  try {
    prep(o, limits);
  } catch (e) {
    expect(isAudiogenError(e)).toBe(true);
    expect((e as AudiogenError).code).toBe(code);
    expect((e as Error).message).toMatch(re);
    return e as AudiogenError;
  }
  throw new Error(`expected ${code} for ${JSON.stringify(o)}`);
}

describe('prepareStableAudioRequest', () => {
  it('fills the family defaults and draws a seed', () => {
    const r = prep({});
    expect(r.seconds).toBe(10);
    expect(r.frames).toBe(441000);
    expect(r.steps).toBe(8);
    expect(r.sampler).toEqual({ name: 'pingpong', steps: 8 });
    expect([r.schedule, r.noise, r.cfgScale, r.variations]).toEqual(['rf', 'philox', 1, 1]);
    expect(Number.isInteger(r.seed) && r.seed >= 0 && r.seed < 2 ** 32).toBe(true);
    expect(r.init).toBeUndefined();
    expect(r.warnings).toEqual([]);
  });

  it('one rule for seconds: (0, maxSeconds], at least one frame; nothing is clamped', () => {
    for (const s of [0, -1, 11.95, 12, 200, 1000, Number.NaN, Number.POSITIVE_INFINITY, 1e-6])
      fails({ seconds: s }, 'INVALID_ARGUMENT', /^seconds /);
    fails({ seconds: 200 }, 'INVALID_ARGUMENT', /must be in \(0, 11\.8886\] .*524288 frames at 44100 Hz/);
    // The bound the message prints is accepted; the same bound rounded up (11.89) is not.
    fails({ seconds: 11.89 }, 'INVALID_ARGUMENT', /must be in \(0, 11\.8886\]/);
    expect(prep({ seconds: 11.8886 }).frames).toBe(524287);
    fails({ seconds: 1e-6 }, 'INVALID_ARGUMENT', /no audio frame/);
    expect(prep({ seconds: LIMITS.maxSeconds }).frames).toBe(524288);
    expect(prep({ seconds: 0.001 }).frames).toBe(44);
    expect(prep({ seconds: 1 / 44100 }).frames).toBe(1);
  });

  it("fullLength keeps the decoder's whole output and conditions on the seconds asked for (Arm's app)", () => {
    const r = prep({ seconds: 10, fullLength: true });
    expect([r.seconds, r.frames]).toEqual([10, 524288]);
    fails({ fullLength: 'yes' as unknown as boolean }, 'INVALID_ARGUMENT', /^fullLength/);
  });

  it('every other option is checked, the error names it', () => {
    const cases: [Partial<StableAudioRequestOptions>, string, RegExp][] = [
      [{ prompt: 3 as unknown as string }, 'INVALID_ARGUMENT', /^prompt must be a string/],
      [{ steps: 0 }, 'INVALID_ARGUMENT', /^steps must be an integer in \[1, 1000\]/],
      [{ steps: 2.5 }, 'INVALID_ARGUMENT', /^steps /],
      [{ cfgScale: -1 }, 'INVALID_ARGUMENT', /^cfgScale /],
      [{ cfgScale: 101 }, 'INVALID_ARGUMENT', /^cfgScale /],
      [{ sampler: 'bogus' }, 'NOT_FOUND', /^sampler: unknown sampler 'bogus'; registered: .*pingpong/],
      [{ sampler: 5 as unknown as string }, 'INVALID_ARGUMENT', /^sampler /],
      [{ schedule: 'cosine' as 'rf' }, 'INVALID_ARGUMENT', /^schedule must be one of rf, arm-f32/],
      [{ noise: 'white' as 'philox' }, 'INVALID_ARGUMENT', /^noise must be one of philox, arm-mt19937/],
      [{ seed: 2 ** 32 }, 'INVALID_ARGUMENT', /^seed must be an integer in \[0, 2\^32\)/],
      [{ seed: -1 }, 'INVALID_ARGUMENT', /^seed /],
      [{ seed: 1.5 }, 'INVALID_ARGUMENT', /^seed /],
      [{ variations: 0 }, 'INVALID_ARGUMENT', /^variations /],
      [{ variations: 65 }, 'INVALID_ARGUMENT', /^variations /],
      [{ initNoiseLevel: 0.5 }, 'INVALID_ARGUMENT', /^initNoiseLevel needs initAudio/],
      [{ initAudio: {} as never }, 'INVALID_ARGUMENT', /^initAudio must be an AudioClip/],
      [{ negativePrompt: 1 as unknown as string }, 'INVALID_ARGUMENT', /^negativePrompt /],
    ];
    for (const [o, code, re] of cases) {
      const e = fails(o, code, re);
      expect(e.details.option).toBe(Object.keys(o)[0]);
    }
    const stereo = audioClip(44100, [new Float32Array(10), new Float32Array(10)]);
    for (const level of [0, 1.5, -0.1, Number.NaN])
      fails(
        { initAudio: stereo, initNoiseLevel: level },
        'INVALID_ARGUMENT',
        /^initNoiseLevel must be .*\(0, 1\]/,
      );
    const three = audioClip(44100, [new Float32Array(4), new Float32Array(4), new Float32Array(4)]);
    fails({ initAudio: three }, 'INVALID_ARGUMENT', /has 3 channels, the model takes 2/);
    fails(
      { initAudio: stereo },
      'UNSUPPORTED',
      /needs the autoencoder encoder.*autoencoder_encoder\.tflite/,
      { ...LIMITS, encoderChannels: undefined },
    );
    const r = prep({ initAudio: stereo });
    expect(r.init!.noiseLevel).toBe(0.7);
  });

  it('messages use the caller’s names (a CLI passes its flags)', () => {
    const names: Partial<Record<StableAudioOptionName, string>> = {
      initNoiseLevel: '--init-noise',
      initAudio: '--init-audio',
      seconds: '--seconds',
      negativePrompt: '--negative',
      cfgScale: '--cfg',
    };
    expect(() => prep({ initNoiseLevel: 0.5 }, LIMITS, names)).toThrow(/^--init-noise needs --init-audio$/);
    expect(() => prep({ seconds: 0 }, LIMITS, names)).toThrow(/^--seconds must be in/);
    const r = prep({ negativePrompt: 'noise' }, LIMITS, names);
    expect(r.warnings).toEqual([
      '--negative is ignored: --cfg is 1 (guidance off); set --cfg above 1 to use it',
    ]);
  });

  it('a negative prompt with guidance off is dropped with a warning; with guidance it is kept', () => {
    const off = prep({ negativePrompt: 'noise' });
    expect(off.negativePrompt).toBeUndefined();
    expect(off.warnings[0]).toMatch(/^negativePrompt is ignored: cfgScale is 1/);
    const on = prep({ negativePrompt: 'noise', cfgScale: 3 });
    expect(on.negativePrompt).toBe('noise');
    expect(on.warnings).toEqual([]);
  });
});
