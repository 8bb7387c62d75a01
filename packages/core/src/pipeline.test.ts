import { describe, expect, it } from 'vitest';
import { audioClip } from './audio';
import { AudiogenError } from './errors';
import type { Conditioner, Decoder, Denoiser, Guidance, NoiseSource, Sampler, Tokenizer } from './interfaces';
import { generate, type PipelineComponents } from './pipeline';
import type { ProgressEvent } from './progress';
import { tensor } from './tensor';

// Deterministic toy noise: value depends on seed, purpose and index only.
function toyNoise(seed: number): NoiseSource {
  return {
    seed,
    stream(purpose, index = 0) {
      let s = (seed * 2654435761 + (purpose === 'init' ? 1 : 1000 + index)) >>> 0;
      return {
        fillNormal(out) {
          for (let i = 0; i < out.length; i++) {
            s = (s * 1664525 + 1013904223) >>> 0;
            out[i] = s / 2 ** 32 - 0.5;
          }
        },
      };
    },
  };
}

const tokenizer: Tokenizer = {
  maxLength: 4,
  encode(text) {
    const ids = new Int32Array(4);
    const mask = new Int32Array(4);
    const n = Math.min(text.length, 3);
    for (let i = 0; i < n; i++) {
      ids[i] = text.charCodeAt(i);
      mask[i] = 1;
    }
    ids[n] = 1;
    mask[n] = 1;
    return { ids, mask, length: n + 1, truncated: text.length > 3 };
  },
};

// The "conditioning" is the sum of token ids; the denoiser returns v = x - c so results depend on the prompt.
const conditioner: Conditioner = {
  async condition(tokens, params) {
    const s = tokens.ids.reduce((a, b) => a + b, 0) + (params?.seconds ?? 0);
    return { c: tensor('float32', [1], new Float32Array([s / 1000])) };
  },
};

function makeDenoiser(calls: { n: number }): Denoiser {
  return {
    latentShape: [1, 2, 3],
    async denoise(x, _t, cond) {
      calls.n++;
      const c = (cond.c!.data as Float32Array)[0]!;
      return x.map((v) => v - c);
    },
  };
}

const decoder: Decoder = {
  sampleRate: 8,
  async decode(latents) {
    return audioClip(8, [Float32Array.from(latents), Float32Array.from(latents, (v) => -v)]);
  },
};

// Plain Euler over the schedule, calling the callback each step.
const euler: Sampler = {
  config: { name: 'euler' },
  async sample({ model, x, schedule, callback }) {
    let cur = Float32Array.from(x);
    const t = schedule.t;
    for (let i = 0; i < t.length - 1; i++) {
      const v = await model(cur, t[i]!, i);
      const next = cur.map((xv, j) => xv + (t[i + 1]! - t[i]!) * v[j]!);
      const denoised = cur.map((xv, j) => xv - t[i]! * v[j]!);
      cur = next;
      const r = await callback?.({
        step: i,
        steps: t.length - 1,
        t: t[i]!,
        tNext: t[i + 1]!,
        x: cur,
        denoised,
      });
      if (r === false) break;
    }
    return cur;
  },
};

function components(calls = { n: 0 }, extra: Partial<PipelineComponents> = {}): PipelineComponents {
  return {
    tokenizer,
    conditioner,
    denoiser: makeDenoiser(calls),
    decoder,
    sampler: euler,
    schedule: { t: new Float64Array([1, 0.5, 0]) },
    noise: toyNoise,
    ...extra,
  };
}

describe('generate', () => {
  it('runs every stage, passes the seed through and reports progress in order', async () => {
    const events: ProgressEvent['type'][] = [];
    const r = await generate(
      { prompt: 'abc', seed: 42, onProgress: (e) => events.push(e.type) },
      components(),
    );
    expect(r.seed).toBe(42);
    expect(r.clips).toHaveLength(1);
    expect(r.clips[0]!.seed).toBe(42);
    expect(r.clips[0]!.clip.channels[0]).toHaveLength(6);
    expect(events).toEqual(['encode', 'encode', 'step', 'step', 'decode', 'decode', 'done']);
    expect(r.timings.stepMs[0]).toHaveLength(2);
  });

  it('computes what the components define (hand-checked Euler on v = x - c)', async () => {
    const r = await generate({ prompt: 'a', seed: 7 }, components());
    const x0 = new Float32Array(6);
    toyNoise(7).stream('init').fillNormal(x0);
    const c = Math.fround(('a'.charCodeAt(0) + 1) / 1000);
    // x' = x + dt (x - c) with dt = -0.5 twice
    const expected = x0.map((x) => {
      let v = x;
      for (let k = 0; k < 2; k++) v = Math.fround(v + -0.5 * Math.fround(v - c));
      return v;
    });
    const got = r.clips[0]!.latents;
    for (let i = 0; i < 6; i++) expect(got[i]).toBeCloseTo(expected[i]!, 6);
  });

  it('is deterministic per seed and differs across seeds; variations use seed + v', async () => {
    const a = await generate({ prompt: 'abc', seed: 1, variations: 2 }, components());
    const b = await generate({ prompt: 'abc', seed: 1, variations: 2 }, components());
    const c = await generate({ prompt: 'abc', seed: 2 }, components());
    expect(a.clips.map((x) => x.seed)).toEqual([1, 2]);
    expect(Array.from(a.clips[0]!.latents)).toEqual(Array.from(b.clips[0]!.latents));
    expect(Array.from(a.clips[1]!.latents)).toEqual(Array.from(c.clips[0]!.latents));
    expect(Array.from(a.clips[0]!.latents)).not.toEqual(Array.from(c.clips[0]!.latents));
  });

  it('draws a random seed when none is given and reports it', async () => {
    const r = await generate({ prompt: 'x' }, components());
    expect(Number.isInteger(r.seed)).toBe(true);
    expect(r.clips[0]!.seed).toBe(r.seed);
  });

  it('stops between steps when the signal fires', async () => {
    const ac = new AbortController();
    const calls = { n: 0 };
    const p = generate(
      {
        prompt: 'abc',
        seed: 3,
        signal: ac.signal,
        onProgress: (e) => {
          if (e.type === 'step' && e.step === 0) ac.abort();
        },
      },
      components(calls),
    );
    await expect(p).rejects.toMatchObject({ code: 'ABORTED' });
    expect(calls.n).toBe(1);
  });

  it('calls the denoiser twice per step only when guidance needs it', async () => {
    const guidance = (scale: number): Guidance => ({
      scale,
      needsUncond: () => true,
      combine: (c, u) => c.map((v, i) => u[i]! + scale * (v - u[i]!)),
    });
    const one = { n: 0 };
    await generate({ prompt: 'abc', seed: 1 }, components(one, { guidance: guidance(1) }));
    expect(one.n).toBe(2);
    const two = { n: 0 };
    await generate(
      { prompt: 'abc', seed: 1, negativePrompt: 'zz' },
      components(two, { guidance: guidance(3) }),
    );
    expect(two.n).toBe(4);
  });

  it('mixes init latents at t[0] for audio-to-audio', async () => {
    const init = new Float32Array([1, 2, 3, 4, 5, 6]);
    const sched = { t: new Float64Array([0.25, 0]) };
    const r = await generate(
      { prompt: 'a', seed: 9, initLatents: init },
      components({ n: 0 }, { schedule: sched }),
    );
    const noise = new Float32Array(6);
    toyNoise(9).stream('init').fillNormal(noise);
    const c = Math.fround(('a'.charCodeAt(0) + 1) / 1000);
    for (let i = 0; i < 6; i++) {
      const x = Math.fround(init[i]! * 0.75 + noise[i]! * 0.25);
      expect(r.clips[0]!.latents[i]).toBeCloseTo(x - 0.25 * (x - c), 5);
    }
  });

  it('rejects bad requests with typed errors', async () => {
    const bad = [
      { prompt: 'a', seed: -1 },
      { prompt: 'a', seed: 1.5 },
      { prompt: 'a', variations: 0 },
      { prompt: 'a', initLatents: new Float32Array(2) },
      { prompt: 42 as unknown as string },
    ];
    for (const req of bad) {
      await expect(generate(req, components())).rejects.toBeInstanceOf(AudiogenError);
    }
  });
});
