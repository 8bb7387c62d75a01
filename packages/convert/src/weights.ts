/**
 * Checkpoint key names and shapes (reference doc §5; HF `t5-base` names for T5), checking a weight
 * source against them (one error listing every missing, extra and mis-shaped key), and seeded
 * random weights with the real names and shapes.
 */
import { AudiogenError } from '@audiogen/core';
import type { StableAudioConfig, T5Config } from './config';
import type { WeightSource } from './safetensors';

export type WeightSpec = Map<string, number[]>;

export const DIT_PREFIX = 'model.model.';
export const NUMBER_PREFIX = 'conditioner.conditioners.seconds_total.';
export const DECODER_PREFIX = 'pretransform.model.decoder.';
export const ENCODER_PREFIX = 'pretransform.model.encoder.';

/** Keys of the DiT (without prefix). */
export function ditSpec(cfg: StableAudioConfig): WeightSpec {
  const d = cfg.dit;
  const D = d.embedDim;
  const hd = D / d.numHeads;
  const inner = D * d.ffMult;
  const s: WeightSpec = new Map();
  s.set('timestep_features.weight', [d.timestepFeatures / 2, 1]);
  s.set('to_timestep_embed.0.weight', [D, d.timestepFeatures]);
  s.set('to_timestep_embed.0.bias', [D]);
  s.set('to_timestep_embed.2.weight', [D, D]);
  s.set('to_timestep_embed.2.bias', [D]);
  s.set('to_cond_embed.0.weight', [D, d.condTokenDim]);
  s.set('to_cond_embed.2.weight', [D, D]);
  s.set('to_global_embed.0.weight', [D, d.globalCondDim]);
  s.set('to_global_embed.2.weight', [D, D]);
  s.set('preprocess_conv.weight', [d.ioChannels, d.ioChannels, 1]);
  s.set('postprocess_conv.weight', [d.ioChannels, d.ioChannels, 1]);
  s.set('transformer.project_in.weight', [D, d.ioChannels]);
  s.set('transformer.project_out.weight', [d.ioChannels, D]);
  s.set('transformer.rotary_pos_emb.inv_freq', [ropeDim(cfg) / 2]);
  for (let i = 0; i < d.depth; i++) {
    const p = `transformer.layers.${i}.`;
    for (const n of ['pre_norm', 'cross_attend_norm', 'ff_norm']) {
      s.set(`${p}${n}.gamma`, [D]);
      s.set(`${p}${n}.beta`, [D]);
    }
    s.set(`${p}self_attn.to_qkv.weight`, [3 * D, D]);
    s.set(`${p}self_attn.to_out.weight`, [D, D]);
    s.set(`${p}cross_attn.to_q.weight`, [D, D]);
    s.set(`${p}cross_attn.to_kv.weight`, [2 * D, D]);
    s.set(`${p}cross_attn.to_out.weight`, [D, D]);
    for (const a of ['self_attn', 'cross_attn']) {
      for (const n of ['q_norm', 'k_norm']) {
        s.set(`${p}${a}.${n}.weight`, [hd]);
        s.set(`${p}${a}.${n}.bias`, [hd]);
      }
    }
    s.set(`${p}ff.ff.0.proj.weight`, [2 * inner, D]);
    s.set(`${p}ff.ff.0.proj.bias`, [2 * inner]);
    s.set(`${p}ff.ff.2.weight`, [D, inner]);
    s.set(`${p}ff.ff.2.bias`, [D]);
  }
  return s;
}

/** RotaryEmbedding dim: max(head_dim / 2, 32). */
export function ropeDim(cfg: StableAudioConfig): number {
  return Math.max(cfg.dit.embedDim / cfg.dit.numHeads / 2, 32);
}

export function numberSpec(cfg: StableAudioConfig): WeightSpec {
  return new Map([
    ['embedder.embedding.0.weights', [cfg.numberEmbedDim / 2]],
    ['embedder.embedding.1.weight', [cfg.condDim, cfg.numberEmbedDim + 1]],
    ['embedder.embedding.1.bias', [cfg.condDim]],
  ]);
}

function wn(s: WeightSpec, key: string, shape: number[], bias: boolean): void {
  s.set(`${key}.weight_g`, [shape[0]!, 1, 1]);
  s.set(`${key}.weight_v`, shape);
  if (bias) s.set(`${key}.bias`, [shape[0]!]);
}

function snake(s: WeightSpec, key: string, c: number): void {
  s.set(`${key}.alpha`, [c]);
  s.set(`${key}.beta`, [c]);
}

function residual(s: WeightSpec, key: string, c: number): void {
  snake(s, `${key}.layers.0`, c);
  wn(s, `${key}.layers.1`, [c, c, 7], true);
  snake(s, `${key}.layers.2`, c);
  wn(s, `${key}.layers.3`, [c, c, 1], true);
}

/** Oobleck decoder keys (without prefix). */
export function decoderSpec(cfg: StableAudioConfig): WeightSpec {
  const { channels: C, cMults, strides, latentDim, ioChannels } = cfg.vae;
  const m = [1, ...cMults];
  const s: WeightSpec = new Map();
  const top = C * m[m.length - 1]!;
  wn(s, 'layers.0', [top, latentDim, 7], true);
  const n = strides.length;
  for (let i = n - 1, b = 1; i >= 0; i--, b++) {
    const cin = C * m[i + 1]!;
    const cout = C * m[i]!;
    const st = strides[i]!;
    snake(s, `layers.${b}.layers.0`, cin);
    // ConvTranspose weight [in, out, k]; weight norm over dim 0 (per input channel); bias [out].
    s.set(`layers.${b}.layers.1.weight_g`, [cin, 1, 1]);
    s.set(`layers.${b}.layers.1.weight_v`, [cin, cout, 2 * st]);
    s.set(`layers.${b}.layers.1.bias`, [cout]);
    for (let r = 0; r < 3; r++) residual(s, `layers.${b}.layers.${r + 2}`, cout);
  }
  snake(s, `layers.${n + 1}`, C);
  s.set(`layers.${n + 2}.weight_g`, [ioChannels, 1, 1]);
  s.set(`layers.${n + 2}.weight_v`, [ioChannels, C, 7]);
  return s;
}

/** Oobleck encoder keys (without prefix). The final conv emits 2·latent channels (mean, scale). */
export function encoderSpec(cfg: StableAudioConfig): WeightSpec {
  const { channels: C, cMults, strides, latentDim, ioChannels } = cfg.vae;
  const m = [1, ...cMults];
  const s: WeightSpec = new Map();
  wn(s, 'layers.0', [C * m[0]!, ioChannels, 7], true);
  const n = strides.length;
  for (let i = 0; i < n; i++) {
    const cin = C * m[i]!;
    const cout = C * m[i + 1]!;
    const st = strides[i]!;
    const b = i + 1;
    for (let r = 0; r < 3; r++) residual(s, `layers.${b}.layers.${r}`, cin);
    snake(s, `layers.${b}.layers.3`, cin);
    wn(s, `layers.${b}.layers.4`, [cout, cin, 2 * st], true);
  }
  const top = C * m[n]!;
  snake(s, `layers.${n + 1}`, top);
  wn(s, `layers.${n + 2}`, [2 * latentDim, top, 3], true);
  return s;
}

/** HF T5EncoderModel keys (encoder only; `shared.weight` is the token embedding). */
export function t5Spec(t5: T5Config): WeightSpec {
  const s: WeightSpec = new Map();
  const inner = t5.numHeads * t5.dKv;
  s.set('shared.weight', [t5.vocabSize, t5.dModel]);
  for (let i = 0; i < t5.numLayers; i++) {
    const p = `encoder.block.${i}.layer.`;
    for (const n of ['q', 'k', 'v']) s.set(`${p}0.SelfAttention.${n}.weight`, [inner, t5.dModel]);
    s.set(`${p}0.SelfAttention.o.weight`, [t5.dModel, inner]);
    if (i === 0) s.set(`${p}0.SelfAttention.relative_attention_bias.weight`, [t5.numBuckets, t5.numHeads]);
    s.set(`${p}0.layer_norm.weight`, [t5.dModel]);
    if (t5.ffProj === 'gated-gelu') {
      s.set(`${p}1.DenseReluDense.wi_0.weight`, [t5.dFf, t5.dModel]);
      s.set(`${p}1.DenseReluDense.wi_1.weight`, [t5.dFf, t5.dModel]);
    } else s.set(`${p}1.DenseReluDense.wi.weight`, [t5.dFf, t5.dModel]);
    s.set(`${p}1.DenseReluDense.wo.weight`, [t5.dModel, t5.dFf]);
    s.set(`${p}1.layer_norm.weight`, [t5.dModel]);
  }
  s.set('encoder.final_layer_norm.weight', [t5.dModel]);
  return s;
}

/** The full SAO checkpoint spec (DiT + number conditioner + decoder + encoder), with prefixes. */
export function checkpointSpec(cfg: StableAudioConfig, opts: { encoder?: boolean } = {}): WeightSpec {
  const s: WeightSpec = new Map();
  const add = (p: string, m: WeightSpec) => {
    for (const [k, v] of m) s.set(p + k, v);
  };
  add(DIT_PREFIX, ditSpec(cfg));
  add(NUMBER_PREFIX, numberSpec(cfg));
  add(DECODER_PREFIX, decoderSpec(cfg));
  if (opts.encoder !== false) add(ENCODER_PREFIX, encoderSpec(cfg));
  return s;
}

/** Keys a source may lack without error (a buffer the builder recomputes). */
const OPTIONAL = /rotary_pos_emb\.inv_freq$/;

/**
 * Checks a source against a spec: missing, extra and mis-shaped keys are gathered and thrown as ONE
 * INVALID_CHECKPOINT error listing them all. Keys matching `ignore` are not reported as extra.
 */
export function checkWeights(
  src: WeightSource,
  spec: WeightSpec,
  opts: { what?: string; ignore?: (key: string) => boolean; allowExtra?: boolean } = {},
): void {
  const missing: string[] = [];
  const misshaped: string[] = [];
  const extra: string[] = [];
  for (const [k, shape] of spec) {
    const got = src.shape(k);
    if (!got) {
      if (!OPTIONAL.test(k)) missing.push(k);
      continue;
    }
    if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
      misshaped.push(`${k}: [${got.join(',')}] but the model needs [${shape.join(',')}]`);
    }
  }
  if (!opts.allowExtra) {
    for (const k of src.keys()) if (!spec.has(k) && !opts.ignore?.(k)) extra.push(k);
  }
  if (missing.length || misshaped.length || extra.length) {
    const parts: string[] = [];
    const list = (title: string, xs: string[]) => {
      if (xs.length)
        parts.push(
          `${title} (${xs.length}):\n    ${xs.slice(0, 200).join('\n    ')}${xs.length > 200 ? '\n    …' : ''}`,
        );
    };
    list('missing keys', missing);
    list('mis-shaped keys', misshaped);
    list('unexpected keys', extra);
    throw new AudiogenError(
      'INVALID_CHECKPOINT',
      `${opts.what ?? 'checkpoint'} does not match the model:\n  ${parts.join('\n  ')}`,
      {
        details: { missing, misshaped, extra },
      },
    );
  }
}

/** A view of a source with a key prefix stripped (keys without the prefix are hidden). */
export function withPrefix(src: WeightSource, prefix: string): WeightSource {
  return {
    keys: () =>
      src
        .keys()
        .filter((k) => k.startsWith(prefix))
        .map((k) => k.slice(prefix.length)),
    shape: (k) => src.shape(prefix + k),
    get: (k) => src.get(prefix + k),
  };
}

/** Several sources as one (first source holding a key wins). */
export function mergeSources(...srcs: WeightSource[]): WeightSource {
  return {
    keys: () => [...new Set(srcs.flatMap((s) => s.keys()))],
    shape: (k) => {
      for (const s of srcs) {
        const sh = s.shape(k);
        if (sh) return sh;
      }
      return undefined;
    },
    get: (k) => {
      for (const s of srcs) if (s.shape(k)) return s.get(k);
      throw new AudiogenError('NOT_FOUND', `weight ${k} not found`);
    },
  };
}

// ------------------------------------------------------------------ random weights

function hashKey(key: string, seed: number): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= Math.floor(seed / 0x100000000);
  return h >>> 0 || 1;
}

/** Fills with uniform values of the given std (xorshift32, deterministic per key and seed). */
function fillUniform(out: Float32Array, seed: number, std: number, mean = 0): void {
  let x = seed >>> 0 || 0x9e3779b9;
  const a = (std * Math.sqrt(3) * 2) / 4294967296;
  const off = mean - std * Math.sqrt(3);
  for (let i = 0; i < out.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = (x >>> 0) * a + off;
  }
}

/** std / mean for a key, chosen so activations stay O(1) through the random network. */
function initFor(key: string, shape: number[]): { std: number; mean: number } | 'zeros' | 'inv_freq' {
  const fanIn = shape.length >= 2 ? shape.slice(1).reduce((a, b) => a * b, 1) : 1;
  if (key.endsWith('rotary_pos_emb.inv_freq')) return 'inv_freq';
  if (/(pre_norm|cross_attend_norm|ff_norm)\.beta$/.test(key)) return 'zeros';
  if (key.endsWith('.gamma') || /(norm|layer_norm)\.weight$/.test(key)) return { std: 0.1, mean: 1 };
  if (key.endsWith('.alpha') || key.endsWith('.beta')) return { std: 0.1, mean: 0 };
  if (key.endsWith('weight_g')) return { std: 0.1, mean: 0.5 };
  if (key.endsWith('.bias')) return { std: 0.02, mean: 0 };
  if (key.endsWith('timestep_features.weight') || key.endsWith('embedding.0.weights'))
    return { std: 1, mean: 0 };
  if (key === 'shared.weight') return { std: 1, mean: 0 };
  if (key.endsWith('relative_attention_bias.weight')) return { std: 0.5, mean: 0 };
  return { std: 1 / Math.sqrt(fanIn), mean: 0 };
}

/** Seeded random weights for a spec: generated on demand, so a full model never sits in memory twice. */
export function randomWeights(spec: WeightSpec, seed: number): WeightSource {
  return {
    keys: () => [...spec.keys()],
    shape: (k) => spec.get(k),
    get: (k) => {
      const shape = spec.get(k);
      if (!shape) throw new AudiogenError('NOT_FOUND', `weight ${k} not in the spec`);
      const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
      const init = initFor(k, shape);
      if (init === 'zeros') return out;
      if (init === 'inv_freq') {
        const dim = out.length * 2;
        for (let j = 0; j < out.length; j++) out[j] = 1 / 10000 ** ((2 * j) / dim);
        return out;
      }
      fillUniform(out, hashKey(k, seed), init.std, init.mean);
      return out;
    },
  };
}

/**
 * Accepts common variants of checkpoint key names: a Lightning `state_dict.` prefix, and weight norm
 * saved by newer PyTorch (`….parametrizations.weight.original0/1` for `weight_g/weight_v`). For T5,
 * `encoder.embed_tokens.weight` stands in for a missing `shared.weight`.
 */
export function normalizeKeys(src: WeightSource): WeightSource {
  const map = new Map<string, string>();
  for (const k of src.keys()) {
    let n = k.startsWith('state_dict.') ? k.slice('state_dict.'.length) : k;
    n = n
      .replace(/\.parametrizations\.weight\.original0$/, '.weight_g')
      .replace(/\.parametrizations\.weight\.original1$/, '.weight_v');
    map.set(n, k);
  }
  if (!map.has('shared.weight') && map.has('encoder.embed_tokens.weight')) {
    map.set('shared.weight', map.get('encoder.embed_tokens.weight')!);
    map.delete('encoder.embed_tokens.weight');
  }
  if ([...map].every(([n, k]) => n === k)) return src;
  return {
    keys: () => [...map.keys()],
    shape: (k) => {
      const o = map.get(k);
      return o === undefined ? undefined : src.shape(o);
    },
    get: (k) => {
      const o = map.get(k);
      if (o === undefined) throw new AudiogenError('NOT_FOUND', `weight ${k} not found`);
      return src.get(o);
    },
  };
}

/**
 * A checkpoint whose weights hold NaN or ±Inf converts into a model that outputs NaN: refused
 * (INVALID_CHECKPOINT naming the tensor and the count) as each tensor is read, not converted silently.
 */
export function finiteWeights(src: WeightSource, what: string): WeightSource {
  return {
    keys: () => src.keys(),
    shape: (k) => src.shape(k),
    get: (k) => {
      const v = src.get(k);
      let bad = 0;
      for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) bad++;
      if (bad > 0) {
        throw new AudiogenError(
          'INVALID_CHECKPOINT',
          `${what}: weight ${k} has ${bad} of ${v.length} values that are NaN or infinite; a model converted from it would output NaN`,
          { details: { path: what, tensor: k, nonFinite: bad, total: v.length } },
        );
      }
      return v;
    },
  };
}
