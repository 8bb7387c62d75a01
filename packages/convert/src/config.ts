/**
 * Configurations of the Stable Audio Open family as the converter needs them, the two built-in
 * presets (the real Stable Audio Open Small and a tiny one with the same structure), and the
 * mapping from/to stable-audio-tools' `model_config.json` and Hugging Face's T5 `config.json`.
 */
import { AudiogenError } from '@audiogen/core';

export interface T5Config {
  vocabSize: number;
  dModel: number;
  numLayers: number;
  numHeads: number;
  dKv: number;
  dFf: number;
  numBuckets: number;
  maxDistance: number;
  eps: number;
  /** 'relu' (t5-base) or 'gated-gelu' (t5 v1.1 / flan). */
  ffProj: 'relu' | 'gated-gelu';
}

export interface DitConfig {
  ioChannels: number;
  embedDim: number;
  depth: number;
  numHeads: number;
  condTokenDim: number;
  globalCondDim: number;
  ffMult: number;
  /** FourierFeatures output size (weight [n/2, 1]). */
  timestepFeatures: number;
}

export interface OobleckConfig {
  channels: number;
  cMults: number[];
  strides: number[];
  /** Decoder latent channels (the encoder emits 2× for the VAE mean and scale). */
  latentDim: number;
  ioChannels: number;
}

export interface StableAudioConfig {
  family: 'stable-audio-open';
  name: string;
  sampleRate: number;
  /** Audio samples per channel the model generates (latent length × downsampling). */
  sampleSize: number;
  /** Token ids the conditioners take (Arm's graph: 128). */
  tokens: number;
  /** Prompt positions kept after T5 (reference max_length: 64). */
  promptTokens: number;
  condDim: number;
  seconds: { min: number; max: number };
  /** NumberEmbedder's Fourier dim (weights [dim/2]). */
  numberEmbedDim: number;
  t5: T5Config;
  dit: DitConfig;
  vae: OobleckConfig;
}

export const T5_BASE: T5Config = {
  vocabSize: 32128,
  dModel: 768,
  numLayers: 12,
  numHeads: 12,
  dKv: 64,
  dFf: 3072,
  numBuckets: 32,
  maxDistance: 128,
  eps: 1e-6,
  ffProj: 'relu',
};

/** Stable Audio Open Small (stabilityai/stable-audio-open-small, the reference doc §4). */
export const STABLE_AUDIO_OPEN_SMALL: StableAudioConfig = {
  family: 'stable-audio-open',
  name: 'stable-audio-open-small',
  sampleRate: 44100,
  sampleSize: 524288,
  tokens: 128,
  promptTokens: 64,
  condDim: 768,
  seconds: { min: 0, max: 256 },
  numberEmbedDim: 256,
  t5: T5_BASE,
  dit: {
    ioChannels: 64,
    embedDim: 1024,
    depth: 16,
    numHeads: 8,
    condTokenDim: 768,
    globalCondDim: 768,
    ffMult: 4,
    timestepFeatures: 256,
  },
  vae: { channels: 128, cMults: [1, 2, 4, 8, 16], strides: [2, 4, 4, 8, 8], latentDim: 64, ioChannels: 2 },
};

/**
 * Same structure with small widths and depths: builds and runs in well under a second. Latent
 * [1,8,32], audio [2,1024]; cross tokens [1,65,64]. Heads of 64 with RoPE on 32 dims (partial, like
 * the real model's 64 of 128).
 */
export const STABLE_AUDIO_TINY: StableAudioConfig = {
  family: 'stable-audio-open',
  name: 'stable-audio-tiny',
  sampleRate: 44100,
  sampleSize: 1024,
  tokens: 128,
  promptTokens: 64,
  condDim: 64,
  seconds: { min: 0, max: 256 },
  numberEmbedDim: 256,
  t5: { ...T5_BASE, dModel: 64, numLayers: 2, numHeads: 4, dKv: 16, dFf: 128 },
  dit: {
    ioChannels: 8,
    embedDim: 128,
    depth: 2,
    numHeads: 2,
    condTokenDim: 64,
    globalCondDim: 64,
    ffMult: 4,
    timestepFeatures: 256,
  },
  vae: { channels: 8, cMults: [1, 2, 4, 4, 8], strides: [2, 2, 2, 2, 2], latentDim: 8, ioChannels: 2 },
};

export function downsampling(cfg: StableAudioConfig): number {
  return cfg.vae.strides.reduce((a, b) => a * b, 1);
}

export function latentLength(cfg: StableAudioConfig): number {
  return cfg.sampleSize / downsampling(cfg);
}

/**
 * Bounds of every integer configuration value: far above Stable Audio Open Small's, far below what would
 * exhaust memory. Checked before anything is built or allocated.
 */
const LIMITS: Record<string, [number, number]> = {
  sampleRate: [1000, 384_000],
  sampleSize: [1, 2 ** 23],
  tokens: [1, 4096],
  promptTokens: [1, 4096],
  condDim: [1, 8192],
  numberEmbedDim: [2, 8192],
  't5.vocabSize': [1, 1_000_000],
  't5.dModel': [1, 8192],
  't5.numLayers': [1, 128],
  't5.numHeads': [1, 256],
  't5.dKv': [1, 1024],
  't5.dFf': [1, 65_536],
  't5.numBuckets': [1, 1024],
  't5.maxDistance': [1, 1 << 20],
  'dit.ioChannels': [1, 1024],
  'dit.embedDim': [1, 16_384],
  'dit.depth': [1, 256],
  'dit.numHeads': [1, 256],
  'dit.condTokenDim': [1, 8192],
  'dit.globalCondDim': [1, 8192],
  'dit.ffMult': [1, 16],
  'dit.timestepFeatures': [2, 8192],
  'vae.channels': [1, 4096],
  'vae.latentDim': [1, 1024],
  'vae.ioChannels': [1, 16],
};
/** Largest weight count of one model, and largest activation (bytes), a configuration may imply. */
const MAX_PARAMETERS = 2 ** 31;
const MAX_ACTIVATION_BYTES = 2 ** 31;

/** Every value inside LIMITS and the sizes it implies bounded; the problems found. */
function boundProblems(cfg: StableAudioConfig): string[] {
  const p: string[] = [];
  for (const [path, [lo, hi]] of Object.entries(LIMITS)) {
    const v = get(cfg, path);
    if (!Number.isInteger(v) || (v as number) < lo || (v as number) > hi)
      p.push(`${path} must be an integer in [${lo}, ${hi}] (got ${String(v)})`);
  }
  const { cMults, strides } = cfg.vae ?? {};
  for (const [name, xs, lo, hi] of [
    ['c_mults', cMults, 1, 64],
    ['strides', strides, 2, 64],
  ] as const) {
    if (
      !Array.isArray(xs) ||
      xs.length < 1 ||
      xs.length > 16 ||
      !xs.every((x) => Number.isInteger(x) && x >= lo && x <= hi)
    )
      p.push(`${name} must be 1 to 16 integers in [${lo}, ${hi}] (got ${JSON.stringify(xs)?.slice(0, 80)})`);
  }
  const eps = cfg.t5?.eps;
  if (!(typeof eps === 'number' && eps > 0 && eps < 1))
    p.push(`t5 eps must be in (0, 1) (got ${String(eps)})`);
  const s = cfg.seconds ?? { min: Number.NaN, max: Number.NaN };
  if (!(Number.isFinite(s.min) && Number.isFinite(s.max) && s.min >= 0 && s.max <= 86_400))
    p.push(`seconds min/max must be finite, in [0, 86400] (got ${String(s.min)}, ${String(s.max)})`);
  if (p.length) return p;
  // Sizes the values imply together (each can be in range while their product is not).
  const { t5, dit, vae } = cfg;
  const ff = t5.ffProj === 'gated-gelu' ? 3 : 2;
  const t5Params =
    t5.vocabSize * t5.dModel +
    t5.numLayers * (4 * t5.dModel * t5.numHeads * t5.dKv + ff * t5.dModel * t5.dFf);
  const ditParams = dit.depth * (4 + 2 + 2 * dit.ffMult) * dit.embedDim * dit.embedDim;
  const widest = vae.channels * Math.max(...vae.cMults);
  const decoderParams = vae.cMults.length * 7 * widest * widest * 4;
  for (const [name, n] of [
    ['T5', t5Params],
    ['DiT', ditParams],
    ['decoder', decoderParams],
  ] as const) {
    if (n > MAX_PARAMETERS)
      p.push(`the ${name} would have ~${n.toExponential(2)} weights (at most ${MAX_PARAMETERS})`);
  }
  const activation = cfg.sampleSize * vae.channels * vae.cMults[0]! * 4;
  if (activation > MAX_ACTIVATION_BYTES)
    p.push(
      `sample_size × decoder channels needs ${activation.toExponential(2)}-byte activations (at most ${MAX_ACTIVATION_BYTES})`,
    );
  return p;
}

/** Checks bounds and internal consistency; throws INVALID_MODEL listing every problem. */
export function validateConfig(cfg: StableAudioConfig): void {
  const bounds = boundProblems(cfg);
  if (bounds.length)
    throw new AudiogenError('INVALID_MODEL', `invalid model configuration:\n  ${bounds.join('\n  ')}`, {
      details: { problems: bounds },
    });
  const p: string[] = [];
  const posInt = (v: unknown, n: string) => {
    if (!Number.isInteger(v) || (v as number) <= 0)
      p.push(`${n} must be a positive integer (got ${String(v)})`);
  };
  posInt(cfg.sampleSize, 'sampleSize');
  posInt(cfg.tokens, 'tokens');
  posInt(cfg.promptTokens, 'promptTokens');
  if (cfg.promptTokens > cfg.tokens) p.push('promptTokens must be ≤ tokens');
  if (cfg.sampleSize % downsampling(cfg) !== 0) p.push('sampleSize must be a multiple of prod(strides)');
  if (cfg.t5.dModel !== cfg.condDim) p.push(`T5 width ${cfg.t5.dModel} must equal cond_dim ${cfg.condDim}`);
  if (cfg.dit.embedDim % cfg.dit.numHeads !== 0) p.push('DiT embed_dim must be divisible by num_heads');
  if (cfg.dit.condTokenDim !== cfg.condDim) p.push('DiT cond_token_dim must equal cond_dim');
  if (cfg.dit.globalCondDim !== cfg.condDim) p.push('DiT global_cond_dim must equal cond_dim');
  if (cfg.dit.ioChannels !== cfg.vae.latentDim) p.push('DiT io_channels must equal the VAE latent_dim');
  if (cfg.vae.cMults.length !== cfg.vae.strides.length) p.push('c_mults and strides must have equal lengths');
  if (cfg.vae.strides.some((s) => s % 2 !== 0)) p.push('Oobleck strides must be even');
  if (cfg.numberEmbedDim % 2 !== 0) p.push('number embedder dim must be even');
  if (cfg.seconds.max <= cfg.seconds.min) p.push('seconds max must exceed min');
  if (p.length) throw new AudiogenError('INVALID_MODEL', `invalid model configuration:\n  ${p.join('\n  ')}`);
}

const get = (o: unknown, path: string): unknown =>
  path
    .split('.')
    .reduce<unknown>(
      (a, k) => (a && typeof a === 'object' ? (a as Record<string, unknown>)[k] : undefined),
      o,
    );

/**
 * Reads a stable-audio-tools `model_config.json` (object). Fields it does not give keep the values
 * of `base` (default: Stable Audio Open Small); T5 dims come from `t5` (HF config.json) when given.
 */
export function configFromModelConfig(
  json: unknown,
  opts: { base?: StableAudioConfig; t5Config?: unknown } = {},
): StableAudioConfig {
  const base = opts.base ?? STABLE_AUDIO_OPEN_SMALL;
  if (typeof json !== 'object' || json === null) {
    throw new AudiogenError('INVALID_MODEL', 'model_config.json must hold a JSON object');
  }
  const problems: string[] = [];
  const num = (path: string, dflt: number): number => {
    const v = get(json, path);
    if (v === undefined) return dflt;
    if (typeof v !== 'number') {
      problems.push(`${path} must be a number`);
      return dflt;
    }
    return v;
  };
  const arr = (path: string, dflt: number[]): number[] => {
    const v = get(json, path);
    if (v === undefined) return dflt;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'number')) {
      problems.push(`${path} must be an array of numbers`);
      return dflt;
    }
    return v as number[];
  };
  const mt = get(json, 'model_type');
  if (mt !== undefined && mt !== 'diffusion_cond')
    problems.push(`model_type ${String(mt)} is not diffusion_cond`);
  const dtype = get(json, 'model.diffusion.type');
  if (dtype !== undefined && dtype !== 'dit') problems.push(`diffusion type ${String(dtype)} is not dit`);
  const qk = get(json, 'model.diffusion.config.attn_kwargs.qk_norm');
  if (qk !== undefined && qk !== 'ln')
    problems.push(`attn_kwargs.qk_norm ${String(qk)} is not supported (only "ln")`);
  const conds = get(json, 'model.conditioning.configs');
  let t5MaxLen = base.promptTokens;
  let secMin = base.seconds.min;
  let secMax = base.seconds.max;
  if (Array.isArray(conds)) {
    for (const c of conds as Record<string, unknown>[]) {
      if (c.id === 'prompt') {
        if (c.type !== 't5') problems.push(`prompt conditioner type ${String(c.type)} is not t5`);
        const ml = get(c, 'config.max_length');
        if (typeof ml === 'number') t5MaxLen = ml;
      } else if (c.id === 'seconds_total') {
        secMin = (get(c, 'config.min_val') as number) ?? secMin;
        secMax = (get(c, 'config.max_val') as number) ?? secMax;
      }
    }
  }
  const t5 = opts.t5Config ? t5FromHfConfig(opts.t5Config, base.t5) : base.t5;
  const decPath = 'model.pretransform.config.decoder.config';
  const cfg: StableAudioConfig = {
    family: 'stable-audio-open',
    name: base.name,
    sampleRate: num('sample_rate', base.sampleRate),
    sampleSize: num('sample_size', base.sampleSize),
    tokens: Math.max(base.tokens, t5MaxLen),
    promptTokens: t5MaxLen,
    condDim: num('model.conditioning.cond_dim', base.condDim),
    seconds: { min: secMin, max: secMax },
    numberEmbedDim: base.numberEmbedDim,
    t5,
    dit: {
      ioChannels: num('model.diffusion.config.io_channels', base.dit.ioChannels),
      embedDim: num('model.diffusion.config.embed_dim', base.dit.embedDim),
      depth: num('model.diffusion.config.depth', base.dit.depth),
      numHeads: num('model.diffusion.config.num_heads', base.dit.numHeads),
      condTokenDim: num('model.diffusion.config.cond_token_dim', base.dit.condTokenDim),
      globalCondDim: num('model.diffusion.config.global_cond_dim', base.dit.globalCondDim),
      ffMult: base.dit.ffMult,
      timestepFeatures: base.dit.timestepFeatures,
    },
    vae: {
      channels: num(`${decPath}.channels`, base.vae.channels),
      cMults: arr(`${decPath}.c_mults`, base.vae.cMults),
      strides: arr(`${decPath}.strides`, base.vae.strides),
      latentDim: num(`${decPath}.latent_dim`, base.vae.latentDim),
      ioChannels: num(`${decPath}.out_channels`, base.vae.ioChannels),
    },
  };
  if (get(json, `${decPath}.final_tanh`) === true) problems.push('decoder final_tanh=true is not supported');
  if (get(json, `${decPath}.use_snake`) === false) problems.push('decoder use_snake=false is not supported');
  if (problems.length) {
    throw new AudiogenError('INVALID_MODEL', `unsupported model_config.json:\n  ${problems.join('\n  ')}`);
  }
  validateConfig(cfg);
  return cfg;
}

/** Reads Hugging Face T5 `config.json` fields. */
export function t5FromHfConfig(json: unknown, base: T5Config = T5_BASE): T5Config {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new AudiogenError('INVALID_MODEL', 'the T5 config.json must hold a JSON object');
  const o = json as Record<string, unknown>;
  const n = (k: string, d: number) => {
    if (o[k] === undefined) return d;
    if (typeof o[k] !== 'number')
      throw new AudiogenError(
        'INVALID_MODEL',
        `T5 config.json: ${k} must be a number (got ${JSON.stringify(o[k])?.slice(0, 40)})`,
      );
    return o[k] as number;
  };
  const ff = (o.feed_forward_proj as string | undefined) ?? base.ffProj;
  if (ff !== 'relu' && ff !== 'gated-gelu') {
    throw new AudiogenError('UNSUPPORTED', `T5 feed_forward_proj ${ff} is not supported (relu, gated-gelu)`);
  }
  return {
    vocabSize: n('vocab_size', base.vocabSize),
    dModel: n('d_model', base.dModel),
    numLayers: n('num_layers', base.numLayers),
    numHeads: n('num_heads', base.numHeads),
    dKv: n('d_kv', base.dKv),
    dFf: n('d_ff', base.dFf),
    numBuckets: n('relative_attention_num_buckets', base.numBuckets),
    maxDistance: n('relative_attention_max_distance', base.maxDistance),
    eps: n('layer_norm_epsilon', base.eps),
    ffProj: ff,
  };
}

/** The stable-audio-tools `model_config.json` for a configuration (for the reference tools). */
export function toModelConfigJson(cfg: StableAudioConfig): Record<string, unknown> {
  const oob = (latent: number) => ({
    channels: cfg.vae.channels,
    c_mults: cfg.vae.cMults,
    strides: cfg.vae.strides,
    latent_dim: latent,
    use_snake: true,
  });
  return {
    model_type: 'diffusion_cond',
    sample_size: cfg.sampleSize,
    sample_rate: cfg.sampleRate,
    audio_channels: cfg.vae.ioChannels,
    model: {
      pretransform: {
        type: 'autoencoder',
        iterate_batch: true,
        config: {
          encoder: {
            type: 'oobleck',
            config: { in_channels: cfg.vae.ioChannels, ...oob(cfg.vae.latentDim * 2) },
          },
          decoder: {
            type: 'oobleck',
            config: { out_channels: cfg.vae.ioChannels, ...oob(cfg.vae.latentDim), final_tanh: false },
          },
          bottleneck: { type: 'vae' },
          latent_dim: cfg.vae.latentDim,
          downsampling_ratio: downsampling(cfg),
          io_channels: cfg.vae.ioChannels,
        },
      },
      conditioning: {
        configs: [
          { id: 'prompt', type: 't5', config: { t5_model_name: 't5-base', max_length: cfg.promptTokens } },
          {
            id: 'seconds_total',
            type: 'number',
            config: { min_val: cfg.seconds.min, max_val: cfg.seconds.max },
          },
        ],
        cond_dim: cfg.condDim,
      },
      diffusion: {
        // SAO-small's objective: stable-audio-tools' generate_diffusion_cond then samples with sample_rf.
        diffusion_objective: 'rf_denoiser',
        cross_attention_cond_ids: ['prompt', 'seconds_total'],
        global_cond_ids: ['seconds_total'],
        type: 'dit',
        config: {
          io_channels: cfg.dit.ioChannels,
          embed_dim: cfg.dit.embedDim,
          depth: cfg.dit.depth,
          num_heads: cfg.dit.numHeads,
          cond_token_dim: cfg.dit.condTokenDim,
          global_cond_dim: cfg.dit.globalCondDim,
          transformer_type: 'continuous_transformer',
          attn_kwargs: { qk_norm: 'ln' },
        },
      },
      io_channels: cfg.dit.ioChannels,
    },
  };
}

/** HF T5 config.json for a T5Config (for the reference tools). */
export function toT5HfConfig(t5: T5Config): Record<string, unknown> {
  return {
    architectures: ['T5EncoderModel'],
    model_type: 't5',
    vocab_size: t5.vocabSize,
    d_model: t5.dModel,
    num_layers: t5.numLayers,
    num_heads: t5.numHeads,
    d_kv: t5.dKv,
    d_ff: t5.dFf,
    relative_attention_num_buckets: t5.numBuckets,
    relative_attention_max_distance: t5.maxDistance,
    layer_norm_epsilon: t5.eps,
    feed_forward_proj: t5.ffProj,
    dropout_rate: 0,
    is_encoder_decoder: true,
  };
}
