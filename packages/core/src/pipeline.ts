import type { AudioClip } from './audio';
import { AudiogenError, checkHooks, throwIfAborted } from './errors';
import type {
  Conditioner,
  Conditioning,
  Decoder,
  Denoiser,
  Guidance,
  NoiseSource,
  Sampler,
  Schedule,
  Tokenizer,
  VelocityFn,
} from './interfaces';
import type { ProgressCallback } from './progress';
import { shapeSize } from './tensor';

export interface GenerateRequest {
  prompt: string;
  /** Used only when guidance asks for an unconditional pass; default ''. */
  negativePrompt?: string;
  /** uint32; drawn at random (and reported) when omitted. */
  seed?: number;
  /** Passed to the conditioner. */
  seconds?: number;
  /** Number of clips; variation v uses seed + v. Default 1. */
  variations?: number;
  /** Audio-to-audio: encoded init latents, mixed with noise at schedule.t[0]. */
  initLatents?: Float32Array;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}

export interface PipelineComponents {
  tokenizer: Tokenizer;
  conditioner: Conditioner;
  denoiser: Denoiser;
  decoder: Decoder;
  sampler: Sampler;
  schedule: Schedule;
  /** Builds the noise streams for one seed. */
  noise: (seed: number) => NoiseSource;
  guidance?: Guidance;
}

export interface GeneratedClip {
  clip: AudioClip;
  seed: number;
  latents: Float32Array;
}

export interface GenerateTimings {
  encodeMs: number;
  /** Per variation, per step. */
  stepMs: number[][];
  denoiseMs: number;
  decodeMs: number;
  totalMs: number;
}

export interface GenerateResult {
  clips: GeneratedClip[];
  seed: number;
  promptTruncated: boolean;
  timings: GenerateTimings;
}

export function randomSeed(): number {
  return globalThis.crypto.getRandomValues(new Uint32Array(1))[0]!;
}

export function validateSeed(seed: number): number {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new AudiogenError('INVALID_ARGUMENT', `seed must be an integer in [0, 2^32), got ${seed}`);
  }
  return seed;
}

const now = () => performance.now();

/**
 * Runs tokenizer → conditioner → sampler(denoiser) → decoder. The seed fully determines the noise,
 * the signal is honoured between steps, and every stage reports progress.
 */
export async function generate(request: GenerateRequest, c: PipelineComponents): Promise<GenerateResult> {
  const t0 = now();
  checkHooks(request);
  const { signal, onProgress } = request;
  if (typeof request.prompt !== 'string')
    throw new AudiogenError('INVALID_ARGUMENT', 'prompt must be a string');
  const seed = validateSeed(request.seed ?? randomSeed());
  const variations = request.variations ?? 1;
  if (!Number.isInteger(variations) || variations < 1 || variations > 64) {
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `variations must be an integer in [1, 64], got ${variations}`,
    );
  }
  const latentSize = shapeSize(c.denoiser.latentShape);
  if (request.initLatents && request.initLatents.length !== latentSize) {
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `init latents have ${request.initLatents.length} values, the denoiser expects ${latentSize}`,
    );
  }
  const tSched = c.schedule.t;
  if (tSched.length < 2) throw new AudiogenError('INVALID_ARGUMENT', 'the schedule needs at least two times');
  throwIfAborted(signal, 'generation');

  // Encode prompt (and the negative prompt when guidance needs it).
  onProgress?.({ type: 'encode', done: false });
  const tokens = c.tokenizer.encode(request.prompt);
  const cond = await c.conditioner.condition(tokens, { seconds: request.seconds, signal });
  let uncond: Conditioning | undefined;
  const guidance = c.guidance && c.guidance.scale !== 1 ? c.guidance : undefined;
  if (guidance) {
    const neg = c.tokenizer.encode(request.negativePrompt ?? '');
    uncond = await c.conditioner.condition(neg, { seconds: request.seconds, signal });
  }
  const encodeMs = now() - t0;
  onProgress?.({
    type: 'encode',
    done: true,
    truncated: tokens.truncated,
    tokens: tokens.length,
    ms: encodeMs,
  });

  const clips: GeneratedClip[] = [];
  const stepMs: number[][] = [];
  let denoiseMs = 0;
  let decodeMs = 0;
  const steps = tSched.length - 1;

  for (let v = 0; v < variations; v++) {
    throwIfAborted(signal, 'generation');
    const vSeed = (seed + v) >>> 0;
    const noise = c.noise(vSeed);
    const x = new Float32Array(latentSize);
    noise.stream('init').fillNormal(x);
    const sigma = tSched[0]!;
    if (request.initLatents) {
      const init = request.initLatents;
      // float32 per operation, as torch computes it (and as @audiogen/sampler's mixInitLatents does).
      const fr = Math.fround;
      const s = fr(sigma);
      const a = fr(1 - s);
      for (let i = 0; i < latentSize; i++) x[i] = fr(fr(init[i]! * a) + fr(x[i]! * s));
    }
    const model: VelocityFn = async (xt, t) => {
      throwIfAborted(signal, 'generation');
      const out = await c.denoiser.denoise(xt, t, cond, { signal });
      if (!guidance || !uncond || !guidance.needsUncond(t)) return out;
      const un = await c.denoiser.denoise(xt, t, uncond, { signal });
      return guidance.combine(out, un, t);
    };
    const times: number[] = [];
    let last = now();
    const dStart = last;
    const latents = await c.sampler.sample({
      model,
      x,
      schedule: c.schedule,
      noise,
      signal,
      callback: (info) => {
        const t = now();
        const ms = t - last;
        last = t;
        times.push(ms);
        onProgress?.({
          type: 'step',
          variation: v,
          step: info.step,
          steps,
          t: info.t,
          tNext: info.tNext,
          ms,
        });
        return undefined;
      },
    });
    throwIfAborted(signal, 'generation');
    denoiseMs += now() - dStart;
    stepMs.push(times);

    onProgress?.({ type: 'decode', variation: v, done: false });
    const dec0 = now();
    const clip = await c.decoder.decode(latents, { signal });
    const ms = now() - dec0;
    decodeMs += ms;
    onProgress?.({ type: 'decode', variation: v, done: true, ms });
    clips.push({ clip, seed: vSeed, latents });
  }
  const totalMs = now() - t0;
  onProgress?.({ type: 'done', ms: totalMs });
  return {
    clips,
    seed,
    promptTruncated: tokens.truncated,
    timings: { encodeMs, stepMs, denoiseMs, decodeMs, totalMs },
  };
}
