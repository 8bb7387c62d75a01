/**
 * Graph builders for the Stable Audio Open family at the exact architecture of the reference
 * (Stability-AI/stable-audio-tools 0.0.19 and HF transformers' T5EncoderModel; see the reference doc
 * §4): the conditioners (T5 encoder + seconds NumberEmbedder), the DiT, the Oobleck decoder (weight
 * norm folded at build time) and the Oobleck encoder (VAE mean). Tensor names follow the model-folder
 * contract; batch is 1 and shapes are fixed.
 */
import { AudiogenError } from '@audiogen/core';
import type { Graph } from '@audiogen/core/tflite';
import { GraphBuilder, type T } from './builder';
import { latentLength, type StableAudioConfig, validateConfig } from './config';
import {
  MEASURED_OUTPUT_CONV_FORM,
  MEASURED_SNAKE_FORM,
  measuredUpsamplerForm,
  type OutputConvForm,
  type SnakeForm,
  type TransposedConvForm,
  type UpsamplerLayer,
} from './decoder-forms';
import type { WeightSource } from './safetensors';
import {
  checkWeights,
  decoderSpec,
  ditSpec,
  encoderSpec,
  numberSpec,
  randomWeights,
  ropeDim,
  t5Spec,
} from './weights';

export interface BuildOptions {
  /** Store large weights as fp16 (+ DEQUANTIZE); compute stays fp32. Default false. */
  fp16Weights?: boolean;
  onProgress?: (message: string, fraction?: number) => void;
}

export interface DecoderBuildOptions extends BuildOptions {
  /**
   * Form of each upsampling layer. Default `'measured'`: the form `measuredUpsamplerForm` records for the
   * layer's shape (benchmarked, see decoder-forms.ts; native for shapes never measured). `'native'` /
   * `'conv3'` force one form everywhere; a function picks per layer.
   */
  transposedConv?: 'measured' | TransposedConvForm | ((layer: UpsamplerLayer) => TransposedConvForm);
  /** How the Snakes between a residual unit's two convs are written (see `SnakeForm`). Default `MEASURED_SNAKE_FORM`. */
  snake?: SnakeForm;
  /** How the last conv (C → 2 audio channels, k7) is written (see `OutputConvForm`). Default `MEASURED_OUTPUT_CONV_FORM`. */
  outputConv?: OutputConvForm;
  /**
   * Write the latent frame dimension open (`latents` shape signature [1,C,-1], reshapes with -1), so a runtime
   * can resize the input and decode only the frames a shorter clip needs. Default true; false: fixed shapes.
   */
  openFrames?: boolean;
  /**
   * Latent frames the decoder is planned (compiled) for, with open frames: LiteRT sizes its activations for this
   * at load, so a decoder planned for a window decodes long clips in windows with less memory. Default: the
   * config's full length.
   */
  plannedFrames?: number;
}

export interface DitBuildOptions extends BuildOptions {
  /**
   * Arm's export drops the global-conditioning term: its global token is the timestep embedding
   * only (the `global_cond` input stays in the signature but is unused). Default false: the
   * reference model's global token = timestep embedding + to_global_embed(global_cond).
   */
  armCompatible?: boolean;
}

const F32_MAX = 3.4028234663852886e38;
const f32 = Math.fround;

function getter(src: WeightSource) {
  return (k: string): Float32Array => src.get(k);
}

/** Rows [from, to) of a row-major [rows, cols] matrix (a view, no copy). */
function rows(w: Float32Array, cols: number, from: number, to: number): Float32Array {
  return w.subarray(from * cols, to * cols);
}

// ------------------------------------------------------------------ conditioners

/** HF T5 relative position bucket (bidirectional), with float32 arithmetic like PyTorch. */
export function t5RelativeBucket(rel: number, numBuckets: number, maxDistance: number): number {
  let nb = numBuckets / 2;
  let bucket = rel > 0 ? nb : 0;
  const n = Math.abs(rel);
  const maxExact = Math.floor(nb / 2);
  if (n < maxExact) return bucket + n;
  const logRatio = f32(Math.log(f32(n / maxExact)));
  const v = f32(f32(logRatio / f32(Math.log(maxDistance / maxExact))) * (nb - maxExact));
  let large = maxExact + Math.trunc(v);
  nb = nb - 1;
  if (large > nb) large = nb;
  bucket += large;
  return bucket;
}

/**
 * Conditioners: in `input_ids` int64 [1,L], `attention_mask` int64 [1,L] (the token axis open: [1,-1]),
 * `seconds_total` f32 [1]; out `cross_attention_input` [1,P+1,C], `cross_attention_masks` [1,P+1], `global_cond`
 * [1,C] (L = cfg.tokens, P = cfg.promptTokens, C = cfg.condDim). T5 runs on the first min(n, P) of the n tokens
 * fed: the reference tokenizes to max_length P, so a prompt never has more (the SDK cuts it there too) and the
 * rest is padding, which T5's mask hides from the kept positions — fed all L (Arm's input length, kept for its
 * app) it runs P positions, fed only the prompt's tokens (the SDK) it runs those. Outputs are zeroed where the
 * mask is 0 and laid into P rows; the seconds embedding is appended as a token.
 * `t5` uses HF names (`shared.weight`, `encoder.…`); `number` the names under
 * `conditioner.conditioners.seconds_total.`.
 */
export function buildConditioners(
  cfg: StableAudioConfig,
  t5: WeightSource,
  number: WeightSource,
  opts: BuildOptions = {},
): Graph {
  validateConfig(cfg);
  const tc = cfg.t5;
  checkWeights(t5, t5Spec(tc), {
    what: 'T5 encoder weights',
    ignore: (k) => k.startsWith('decoder.') || k === 'lm_head.weight' || k === 'encoder.embed_tokens.weight',
  });
  checkWeights(number, numberSpec(cfg), { what: 'seconds_total number conditioner' });
  const W = getter(t5);
  const N = getter(number);
  const L = cfg.tokens;
  const P = cfg.promptTokens;
  const d = tc.dModel;
  const H = tc.numHeads;
  const dk = tc.dKv;
  const inner = H * dk;
  const b = new GraphBuilder('audiogen convert: Stable Audio conditioners (T5 encoder + seconds)');
  b.weightsFp16 = !!opts.fp16Weights;
  // The token axis is open: a caller may feed only the prompt's real tokens (n ≤ L) and T5 then runs on those
  // alone. Every shape below follows the inputs' shapes, never their values, so LiteRT re-plans after a resize
  // and XNNPACK keeps the T5 blocks: positions by CUMSUM, the relative bias by GATHER, the rows back to P by a
  // one-hot matmul.
  const ids = b.input('input_ids', 'INT64', [1, L], { openAxis: 1 });
  const mask = b.input('attention_mask', 'INT64', [1, L], { openAxis: 1 });
  const seconds = b.input('seconds_total', 'FLOAT32', [1]);

  // The first m = min(n, P) positions: LiteRT's STRIDED_SLICE clamps the end P to what the input has (on the
  // int32 tensors, which stay on LiteRT's builtin kernels).
  const first = (t: T) => (P < L ? b.stridedSlice(t, [0, 0], [1, P], [1, 1]) : t); // [1,m]
  const ids32 = b.reshape(first(b.cast(ids, 'INT32')), [P], { openAxis: 0 }); // [m]
  let x = b.gather(b.weight('t5/shared', [tc.vocabSize, d], W('shared.weight')), ids32, 0); // [m,d]
  const maskP = b.cast(first(b.cast(mask, 'INT32')), 'FLOAT32'); // [1,m]
  // HF: extended mask = (1 − m) · finfo.min, added to the shared position bias.
  const maskBias = b.reshape(b.mul(b.sub(maskP, b.scalar(1)), b.scalar(F32_MAX)), [1, 1, P], { openAxis: 2 });
  // Positions 0..m−1, and the bias of every (i, j) from a table over j − i ∈ [−(P−1), P−1].
  const pos = b.cast(
    b.cumsum(b.add(b.mul(maskP, b.scalar(0)), b.scalar(1)), 1, { exclusive: true }),
    'INT32',
  ); // [1,m]
  const relW = W('encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight'); // [buckets, H]
  const rel = new Float32Array((2 * P - 1) * H);
  for (let k = 0; k < 2 * P - 1; k++) {
    const bk = t5RelativeBucket(k - (P - 1), tc.numBuckets, tc.maxDistance);
    for (let h = 0; h < H; h++) rel[k * H + h] = relW[bk * H + h]!;
  }
  const dist = b.add(
    b.sub(pos, b.reshape(pos, [P, 1], { openAxis: 0 })),
    b.i32('t5/max_distance', [], [P - 1]),
  ); // [m,m]: j − i + P − 1
  const posBias = b.transpose(b.gather(b.f32('t5/relative_bias', [2 * P - 1, H], rel), dist, 0), [2, 0, 1]); // [H,m,m]
  const bias = b.add(posBias, maskBias); // [H,m,m]

  for (let i = 0; i < tc.numLayers; i++) {
    opts.onProgress?.(`conditioners: T5 block ${i + 1}/${tc.numLayers}`, i / tc.numLayers);
    const p = `encoder.block.${i}.layer.`;
    b.scope(`t5/block${i}`, () => {
      const h = b.rmsNorm(x, b.f32('ln0', [d], W(`${p}0.layer_norm.weight`)), tc.eps);
      const heads = (name: string) => {
        const y = b.fullyConnected(h, b.weight(name, [inner, d], W(`${p}0.SelfAttention.${name}.weight`)));
        return b.transpose(b.reshape(y, [P, H, dk], { openAxis: 0 }), [1, 0, 2]); // [H,m,dk]
      };
      const q = heads('q');
      const k = heads('k');
      const v = heads('v');
      const scores = b.add(b.batchMatmul(q, k, { adjY: true }), bias); // no 1/√d in T5
      const o = b.batchMatmul(b.softmax(scores), v); // [H,P,dk]
      const merged = b.reshape(b.transpose(o, [1, 0, 2]), [P, inner], { openAxis: 0 });
      x = b.add(x, b.fullyConnected(merged, b.weight('o', [d, inner], W(`${p}0.SelfAttention.o.weight`))));
      const h2 = b.rmsNorm(x, b.f32('ln1', [d], W(`${p}1.layer_norm.weight`)), tc.eps);
      let ff: T;
      if (tc.ffProj === 'gated-gelu') {
        const g = b.gelu(
          b.fullyConnected(h2, b.weight('wi_0', [tc.dFf, d], W(`${p}1.DenseReluDense.wi_0.weight`))),
          true,
        );
        const lin = b.fullyConnected(
          h2,
          b.weight('wi_1', [tc.dFf, d], W(`${p}1.DenseReluDense.wi_1.weight`)),
        );
        ff = b.mul(g, lin);
      } else {
        ff = b.fullyConnected(h2, b.weight('wi', [tc.dFf, d], W(`${p}1.DenseReluDense.wi.weight`)), null, {
          activation: 'RELU',
        });
      }
      x = b.add(x, b.fullyConnected(ff, b.weight('wo', [d, tc.dFf], W(`${p}1.DenseReluDense.wo.weight`))));
    });
  }
  x = b.rmsNorm(x, b.f32('t5/final_layer_norm', [d], W('encoder.final_layer_norm.weight')), tc.eps);

  // Zero the padded positions, then lay the m rows into P: a one-hot [P, m] matmul (exact: each row is one
  // row times 1 plus zeros), so the outputs keep their shapes however many tokens came in.
  const maskCol = b.reshape(maskP, [P, 1], { openAxis: 0 }); // [m,1]
  const rowsOf = b.cast(
    b.compare(
      'EQUAL',
      b.i32(
        't5/rows',
        [P, 1],
        Array.from({ length: P }, (_, i) => i),
      ),
      pos,
    ),
    'FLOAT32',
  ); // [P,m]
  const prompt = b.batchMatmul(rowsOf, b.mul(x, maskCol)); // [P,d]
  const maskRows = b.reshape(b.batchMatmul(rowsOf, maskCol), [1, P]); // [1,P]

  // NumberEmbedder: n = (clamp(s) − min)/(max − min); [n, sin 2πnw, cos 2πnw] → Linear.
  const { min, max } = cfg.seconds;
  let n = b.maximum(b.reshape(seconds, [1, 1]), b.scalar(min, 'seconds_min'));
  n = b.minimum(n, b.scalar(max, 'seconds_max'));
  n = b.div(b.sub(n, b.scalar(min, 'seconds_min')), b.scalar(max - min, 'seconds_range'));
  const half = cfg.numberEmbedDim / 2;
  const phi = b.mul(
    b.mul(n, b.f32('seconds/weights', [1, half], N('embedder.embedding.0.weights'))),
    b.scalar(f32(2 * Math.PI), 'two_pi'),
  );
  const feat = b.concat([n, b.sin(phi), b.cos(phi)], 1);
  const global = b.fullyConnected(
    feat,
    b.f32('seconds/linear', [cfg.condDim, cfg.numberEmbedDim + 1], N('embedder.embedding.1.weight')),
    b.f32('seconds/linear_bias', [cfg.condDim], N('embedder.embedding.1.bias')),
  ); // [1,C]
  const cross = b.concat([b.reshape(prompt, [1, P, d]), b.reshape(global, [1, 1, cfg.condDim])], 1);
  const masks = b.concat([maskRows, b.f32('ones', [1, 1], [1])], 1);
  b.output(cross, 'cross_attention_input');
  b.output(masks, 'cross_attention_masks');
  b.output(global, 'global_cond');
  opts.onProgress?.('conditioners: built', 1);
  return b.build();
}

// ------------------------------------------------------------------ DiT

/**
 * RoPE tables [N, hd] for positions 0..N−1 over the first `rot` dims (cos 1 / sin 0 elsewhere), the sin with
 * rotate_half's signs folded in: rotate_half(u)·sin = (u[h:rot], u[0:h], u[rot:])·sinS, sinS = −sin on [0, h),
 * sin on [h, rot) (h = rot/2).
 */
function ropeTables(n: number, hd: number, rot: number): { cos: Float32Array; sinSigned: Float32Array } {
  const h = rot / 2;
  const invFreq = new Float32Array(h);
  for (let j = 0; j < h; j++) invFreq[j] = f32(1 / f32(10000 ** f32((2 * j) / rot)));
  const cos = new Float32Array(n * hd);
  const sinSigned = new Float32Array(n * hd);
  for (let p = 0; p < n; p++) {
    for (let j = 0; j < hd; j++) {
      if (j < rot) {
        const fr = f32(p * invFreq[j % h]!);
        cos[p * hd + j] = Math.cos(fr);
        sinSigned[p * hd + j] = j < h ? -Math.sin(fr) : Math.sin(fr);
      } else cos[p * hd + j] = 1;
    }
  }
  return { cos, sinSigned };
}

/**
 * DiT: in `x` [1,C,T], `t` [1], `cross_attn_cond` [1,Nc,Cc], `global_cond` [1,Cg]; out `v` [1,C,T].
 * Weights are the names under `model.model.`.
 */
export function buildDit(cfg: StableAudioConfig, src: WeightSource, opts: DitBuildOptions = {}): Graph {
  validateConfig(cfg);
  const dc = cfg.dit;
  checkWeights(src, ditSpec(cfg), { what: 'DiT weights (model.model.*)' });
  const W = getter(src);
  const D = dc.embedDim;
  const H = dc.numHeads;
  const hd = D / H;
  const C = dc.ioChannels;
  const T = latentLength(cfg);
  const Nc = cfg.promptTokens + 1;
  const N = T + 1;
  const inner = D * dc.ffMult;
  const b = new GraphBuilder(
    `audiogen convert: Stable Audio DiT${opts.armCompatible ? ' (Arm-compatible: global term dropped)' : ''}`,
  );
  b.weightsFp16 = !!opts.fp16Weights;
  const xIn = b.input('x', 'FLOAT32', [1, C, T]);
  const tIn = b.input('t', 'FLOAT32', [1]);
  const crossIn = b.input('cross_attn_cond', 'FLOAT32', [1, Nc, dc.condTokenDim]);
  const globalIn = b.input('global_cond', 'FLOAT32', [1, dc.globalCondDim]);

  const mlp = (name: string, x: T, inDim: number, withBias: boolean): T =>
    b.scope(name, () => {
      const b0 = withBias ? b.f32('b0', [D], W(`${name}.0.bias`)) : null;
      const b2 = withBias ? b.f32('b2', [D], W(`${name}.2.bias`)) : null;
      const h = b.silu(b.fullyConnected(x, b.weight('w0', [D, inDim], W(`${name}.0.weight`)), b0));
      return b.fullyConnected(h, b.weight('w2', [D, D], W(`${name}.2.weight`)), b2);
    });

  // Timestep: f = (2π·t)·Wᵀ; [cos f, sin f] → Linear → SiLU → Linear.
  const half = dc.timestepFeatures / 2;
  const f = b.mul(
    b.mul(b.reshape(tIn, [1, 1]), b.scalar(f32(2 * Math.PI), 'two_pi')),
    b.f32('timestep_features', [1, half], W('timestep_features.weight')),
  );
  const temb = mlp('to_timestep_embed', b.concat([b.cos(f), b.sin(f)], 1), dc.timestepFeatures, true);
  let g = temb;
  if (!opts.armCompatible) g = b.add(mlp('to_global_embed', globalIn, dc.globalCondDim, false), temb);
  const ctx = mlp('to_cond_embed', b.reshape(crossIn, [Nc, dc.condTokenDim]), dc.condTokenDim, false); // [Nc,D]

  // x + Conv1x1(x), as [T,C] rows; project_in; prepend the global token.
  const xt = b.transpose(b.reshape(xIn, [C, T]), [1, 0]); // [T,C]
  const pre = b.add(
    b.fullyConnected(xt, b.weight('preprocess_conv', [C, C], W('preprocess_conv.weight'))),
    xt,
  );
  let x = b.concat(
    [g, b.fullyConnected(pre, b.weight('project_in', [D, C], W('transformer.project_in.weight')))],
    0,
  );

  const rot = ropeDim(cfg);
  const { cos, sinSigned } = ropeTables(N, hd, rot);
  const cosT = b.f32('rope/cos', [N, 1, hd], cos);
  const sinT = b.f32('rope/sin_signed', [N, 1, hd], sinSigned);
  // rotate_half as a permutation of the head dims (slices + concat): exact in every precision, and no GEMM (a
  // [hd,hd] FULLY_CONNECTED on every head row was 1.3 % of a DiT step's multiply-adds, and int8 in `auto`).
  const rope = (u: T, n: number): T => {
    const h = rot / 2;
    const part = (from: number, len: number) => b.slice(u, [0, 0, from], [n, H, len]);
    const parts = [part(h, h), part(0, h)];
    if (rot < hd) parts.push(part(rot, hd - rot));
    return b.add(b.mul(u, cosT), b.mul(b.concat(parts, 2), sinT));
  };
  const scale = 1 / Math.sqrt(hd);

  /** LayerNorm over head dims (eps 1e-6) with optional folding of the 1/√hd attention scale. */
  const headNorm = (u: T, key: string, s = 1): T => {
    const w = W(`${key}.weight`);
    const bb = W(`${key}.bias`);
    return b.layerNorm(
      u,
      b.f32('w', [hd], s === 1 ? w : w.map((v) => v * s)),
      b.f32('b', [hd], s === 1 ? bb : bb.map((v) => v * s)),
      1e-6,
    );
  };
  const attend = (q: T, k: T, v: T, nq: number): T => {
    const o = b.batchMatmul(b.softmax(b.batchMatmul(q, k, { adjY: true })), v); // [H,nq,hd]
    return b.reshape(b.transpose(o, [1, 0, 2]), [nq, D]);
  };
  const norm = (name: string, u: T, p: string): T => {
    const beta = W(`${p}${name}.beta`);
    const betaT = beta.some((v) => v !== 0) ? b.f32(`${name}_beta`, [D], beta) : null;
    return b.layerNorm(u, b.f32(`${name}_gamma`, [D], W(`${p}${name}.gamma`)), betaT, 1e-5);
  };

  for (let i = 0; i < dc.depth; i++) {
    opts.onProgress?.(`dit: block ${i + 1}/${dc.depth}`, i / dc.depth);
    const p = `transformer.layers.${i}.`;
    b.scope(`block${i}`, () => {
      // Self-attention with q/k LayerNorm and partial RoPE.
      b.scope('self_attn', () => {
        const h = norm('pre_norm', x, p);
        const qkv = W(`${p}self_attn.to_qkv.weight`);
        const proj = (j: number) =>
          b.reshape(b.fullyConnected(h, b.weight(`w${'qkv'[j]}`, [D, D], rows(qkv, D, j * D, (j + 1) * D))), [
            N,
            H,
            hd,
          ]);
        let q = rope(headNorm(proj(0), `${p}self_attn.q_norm`, scale), N);
        let k = rope(headNorm(proj(1), `${p}self_attn.k_norm`), N);
        q = b.transpose(q, [1, 0, 2]);
        k = b.transpose(k, [1, 0, 2]);
        const v = b.transpose(proj(2), [1, 0, 2]);
        const o = attend(q, k, v, N);
        x = b.add(x, b.fullyConnected(o, b.weight('to_out', [D, D], W(`${p}self_attn.to_out.weight`))));
      });
      // Cross-attention over the conditioning tokens (no RoPE, no mask).
      b.scope('cross_attn', () => {
        const h = norm('cross_attend_norm', x, p);
        const qw = b.weight('to_q', [D, D], W(`${p}cross_attn.to_q.weight`));
        let q = headNorm(b.reshape(b.fullyConnected(h, qw), [N, H, hd]), `${p}cross_attn.q_norm`, scale);
        const kv = W(`${p}cross_attn.to_kv.weight`);
        let k = b.reshape(b.fullyConnected(ctx, b.weight('to_k', [D, D], rows(kv, D, 0, D))), [Nc, H, hd]);
        k = headNorm(k, `${p}cross_attn.k_norm`);
        const v = b.reshape(b.fullyConnected(ctx, b.weight('to_v', [D, D], rows(kv, D, D, 2 * D))), [
          Nc,
          H,
          hd,
        ]);
        q = b.transpose(q, [1, 0, 2]);
        const o = attend(q, b.transpose(k, [1, 0, 2]), b.transpose(v, [1, 0, 2]), N);
        x = b.add(x, b.fullyConnected(o, b.weight('to_out', [D, D], W(`${p}cross_attn.to_out.weight`))));
      });
      // SwiGLU feed-forward.
      b.scope('ff', () => {
        const h = norm('ff_norm', x, p);
        const w0 = W(`${p}ff.ff.0.proj.weight`);
        const b0 = W(`${p}ff.ff.0.proj.bias`);
        const a = b.fullyConnected(
          h,
          b.weight('proj_a', [inner, D], rows(w0, D, 0, inner)),
          b.f32('bias_a', [inner], b0.subarray(0, inner)),
        );
        const gate = b.fullyConnected(
          h,
          b.weight('proj_gate', [inner, D], rows(w0, D, inner, 2 * inner)),
          b.f32('bias_gate', [inner], b0.subarray(inner)),
        );
        const y = b.fullyConnected(
          b.mul(a, b.silu(gate)),
          b.weight('out', [D, inner], W(`${p}ff.ff.2.weight`)),
          b.f32('out_bias', [D], W(`${p}ff.ff.2.bias`)),
        );
        x = b.add(x, y);
      });
    });
  }
  const out = b.fullyConnected(x, b.weight('project_out', [C, D], W('transformer.project_out.weight'))); // [N,C]
  const o = b.slice(out, [1, 0], [T, C]);
  const post = b.add(
    b.fullyConnected(o, b.weight('postprocess_conv', [C, C], W('postprocess_conv.weight'))),
    o,
  );
  b.output(b.reshape(b.transpose(post, [1, 0]), [1, C, T]), 'v');
  opts.onProgress?.('dit: built', 1);
  return b.build();
}

// ------------------------------------------------------------------ Oobleck

/** W = g·V/‖V‖ with the norm over all axes but 0 (torch weight_norm, dim 0). */
export function foldWeightNorm(g: Float32Array, v: Float32Array): Float32Array {
  const n0 = g.length;
  const per = v.length / n0;
  const out = new Float32Array(v.length);
  for (let o = 0; o < n0; o++) {
    let s = 0;
    for (let i = 0; i < per; i++) s += v[o * per + i]! ** 2;
    const f = g[o]! / Math.sqrt(s);
    for (let i = 0; i < per; i++) out[o * per + i] = v[o * per + i]! * f;
  }
  return out;
}

/** Conv1d weight [out,in,k] → TFLite OHWI filter [out,1,k,in]. */
function convFilter(w: Float32Array, out: number, inn: number, k: number): Float32Array {
  const f = new Float32Array(w.length);
  for (let o = 0; o < out; o++)
    for (let i = 0; i < inn; i++)
      for (let j = 0; j < k; j++) f[(o * k + j) * inn + i] = w[(o * inn + i) * k + j]!;
  return f;
}

/** ConvTranspose1d weight [in,out,k] → TFLite TRANSPOSE_CONV filter [out,1,k,in]. */
function convTransposeFilter(w: Float32Array, inn: number, out: number, k: number): Float32Array {
  const f = new Float32Array(w.length);
  for (let i = 0; i < inn; i++)
    for (let o = 0; o < out; o++)
      for (let j = 0; j < k; j++) f[(o * k + j) * inn + i] = w[(i * out + o) * k + j]!;
  return f;
}

/** A ConvTranspose1d(k = 2s, stride s, padding s/2): weight [in,out,k] (weight norm folded), bias, shape. */
interface TransposedConvWeights {
  w: Float32Array;
  bias: Float32Array;
  inn: number;
  out: number;
  s: number;
}

/** The rewrites read two frames per phase: k must be 2·stride with an even stride. Bias repeated per phase. */
function phaseBias(u: TransposedConvWeights, form: string): Float32Array {
  const { w, bias, inn, out, s } = u;
  if (s % 2 !== 0 || w.length !== inn * out * 2 * s)
    throw new AudiogenError(
      'UNSUPPORTED',
      `transposed conv as ${form} needs k = 2·stride with an even stride (stride ${s})`,
    );
  const bb = new Float32Array(s * out);
  for (let r = 0; r < s; r++) bb.set(bias, r * out);
  return bb;
}

/**
 * ConvTranspose1d(k = 2s, stride s, padding s/2) as CONV_2D + RESHAPE. Output frame n·s + r (phase r) sums
 * input frames n−1, n, n+1 with taps s+r+s/2 (r < s/2), r+s/2, r−s/2 (r ≥ s/2) of the transposed kernel: a k=3
 * SAME conv to s·out channels (channel r·out + c), zero where a phase does not reach, then [L, s·out] →
 * [L·s, out] (depth-to-space). Same sums as the transposed conv, in another order.
 */
function transposedAsConv(b: GraphBuilder, x: T, u: TransposedConvWeights): T {
  const bb = phaseBias(u, 'conv3');
  const { w, inn, out, s } = u;
  const h = s / 2;
  const oc = s * out;
  const f = new Float32Array(oc * 3 * inn); // OHWI [s·out, 1, 3, in]
  for (let r = 0; r < s; r++) {
    const taps = [r < h ? s + r + h : -1, r + h, r >= h ? r - h : -1];
    for (let c = 0; c < out; c++) {
      const o = r * out + c;
      for (let t = 0; t < 3; t++) {
        const kk = taps[t]!;
        if (kk < 0) continue;
        for (let i = 0; i < inn; i++) f[(o * 3 + t) * inn + i] = w[(i * out + c) * 2 * s + kk]!;
      }
    }
  }
  const [n, hh, len] = x.shape as [number, number, number, number];
  const y = b.conv2d(x, b.weight('filter', [oc, 1, 3, inn], f), b.f32('bias', [oc], bb), { padding: 'SAME' });
  return b.reshape(y, [n, hh, len * s, out], { openAxis: 2 });
}

/**
 * ConvTranspose1d(k = 2s, stride s, padding s/2) as PAD + CONV_2D (k=2, VALID) + RESHAPE + STRIDED_SLICE, with
 * no zero taps. With x padded by one zero frame at each end, z[m] reads input frames m−1 and m; its channel
 * group g (g < s) is output frame m·s − s/2 + g, which sums frame m−1 with tap g+s and frame m with tap g of the
 * transposed kernel, whatever the phase. So [L+1, s·out] → [(L+1)·s, out] holds the output from s/2 frames in,
 * and the slice drops s/2 at each end. Same sums as the transposed conv, 2/3 of conv3's multiply-adds.
 */
function transposedAsConv2(b: GraphBuilder, x: T, u: TransposedConvWeights): T {
  const bb = phaseBias(u, 'conv2');
  const { w, inn, out, s } = u;
  const oc = s * out;
  const f = new Float32Array(oc * 2 * inn); // OHWI [s·out, 1, 2, in]
  for (let g = 0; g < s; g++)
    for (let c = 0; c < out; c++) {
      const o = g * out + c;
      for (let i = 0; i < inn; i++) {
        f[(o * 2 + 0) * inn + i] = w[(i * out + c) * 2 * s + g + s]!;
        f[(o * 2 + 1) * inn + i] = w[(i * out + c) * 2 * s + g]!;
      }
    }
  const [n, hh, len] = x.shape as [number, number, number, number];
  const xp = b.pad(x, [
    [0, 0],
    [0, 0],
    [1, 1],
    [0, 0],
  ]);
  const z = b.conv2d(xp, b.weight('filter', [oc, 1, 2, inn], f), b.f32('bias', [oc], bb), {
    padding: 'VALID',
  });
  const y = b.reshape(z, [n, hh, (len + 1) * s, out], { openAxis: 2 });
  return b.trim(y, 2, s / 2, s / 2);
}

/**
 * One decoder upsampling layer on its own (random weight-normed weights of the real shape), in either form:
 * the micro-graph scripts/transpose-conv-bench.mjs times and the equality tests compare.
 */
export function buildTransposedConvMicro(o: {
  stride: number;
  length: number;
  cin: number;
  cout: number;
  form: TransposedConvForm;
  seed?: number;
}): Graph {
  const b = new GraphBuilder(`transposed conv micro-graph (${o.form})`);
  const k = 2 * o.stride;
  const src = randomWeights(
    new Map([
      ['up.weight_g', [o.cin, 1, 1]],
      ['up.weight_v', [o.cin, o.cout, k]],
      ['up.bias', [o.cout]],
    ]),
    o.seed ?? 0,
  );
  const m = new Oobleck(b, getter(src), (key) => src.shape(key)!);
  const x = b.input('x', 'FLOAT32', [1, 1, o.length, o.cin]);
  b.output(m.convTranspose(x, 'up', o.stride, o.form), 'y');
  return b.build();
}

class Oobleck {
  constructor(
    readonly b: GraphBuilder,
    readonly W: (k: string) => Float32Array,
    readonly shape: (k: string) => number[],
  ) {}

  /** exp(α) and 1/(exp(β) + 1e-9) of a SnakeBeta (stored in log scale), as the graph's float32 constants. */
  snakeParams(key: string): { a: Float32Array; inv: Float32Array } {
    return {
      a: this.W(`${key}.alpha`).map((v) => Math.exp(v)),
      inv: this.W(`${key}.beta`).map((v) => 1 / (f32(Math.exp(v)) + 1e-9)),
    };
  }

  /** SnakeBeta: x + 1/(exp β + 1e-9) · sin(exp α · x)², α/β in log scale (folded at build time). 5 ops. */
  snake(x: T, key: string): T {
    const b = this.b;
    const { a, inv } = this.snakeParams(key);
    const c = a.length;
    return b.scope(key, () => {
      const s = b.square(b.sin(b.mul(x, b.f32('alpha', [c], a))));
      return b.add(x, b.mul(s, b.f32('inv_beta', [c], inv)));
    });
  }

  /**
   * The same Snake on z = α·x, scaled by α: α·snake(x) = z + α/(exp β + 1e-9) · sin(z)² (4 ops). The caller
   * folds α into the conv that makes z and 1/α into the conv that reads the result.
   */
  snakeScaled(z: T, key: string, a: Float32Array, inv: Float32Array): T {
    const b = this.b;
    const ai = a.map((v, i) => v * inv[i]!);
    return b.scope(key, () => b.add(z, b.mul(b.square(b.sin(z)), b.f32('alpha_inv_beta', [a.length], ai))));
  }

  /**
   * Weight-normed Conv1d on [1,1,W,C]; padding 'SAME' = PyTorch padding dilation·(k−1)/2. `outScale`/`inScale`
   * multiply the folded weight per output (and bias) / input channel.
   */
  conv(
    x: T,
    key: string,
    opts: {
      dilation?: number;
      stride?: number;
      bias?: boolean;
      outChannels?: number;
      outScale?: Float32Array;
      inScale?: Float32Array;
    } = {},
  ): T {
    const b = this.b;
    const [out, inn, k] = this.shape(`${key}.weight_v`) as [number, number, number];
    let w = foldWeightNorm(this.W(`${key}.weight_g`), this.W(`${key}.weight_v`));
    let o = out;
    let bias = opts.bias === false ? null : this.W(`${key}.bias`);
    if (opts.outChannels !== undefined && opts.outChannels < out) {
      o = opts.outChannels;
      w = w.subarray(0, o * inn * k);
      bias = bias ? bias.subarray(0, o) : null;
    }
    const { outScale, inScale } = opts;
    if (outScale || inScale) {
      w = w.map((v, j) => {
        const oc = Math.floor(j / (inn * k));
        const ic = Math.floor(j / k) % inn;
        return v * (outScale ? outScale[oc]! : 1) * (inScale ? inScale[ic]! : 1);
      });
      if (bias && outScale) bias = bias.map((v, j) => v * outScale[j]!);
    }
    return b.scope(key, () =>
      b.conv2d(
        x,
        b.weight('filter', [o, 1, k, inn], convFilter(w, o, inn, k)),
        bias ? b.f32('bias', [o], bias) : null,
        { padding: 'SAME', stride: [1, opts.stride ?? 1], dilation: [1, opts.dilation ?? 1] },
      ),
    );
  }

  /**
   * A bias-free 'SAME' Conv1d with few output channels (the decoder's last conv, C → 2, k7) as one 1×1 conv to
   * k·out channels (tap j of output o in channel j·out + o: a GEMM k times wider, so XNNPACK's tiles are filled)
   * + PAD + k crops that shift each tap's channels into place + k − 1 ADDs. The same sums in another order.
   */
  convAsTaps(x: T, key: string): T {
    const b = this.b;
    const [out, inn, k] = this.shape(`${key}.weight_v`) as [number, number, number];
    const w = foldWeightNorm(this.W(`${key}.weight_g`), this.W(`${key}.weight_v`));
    const f = new Float32Array(k * out * inn); // OHWI [k·out, 1, 1, in]
    for (let j = 0; j < k; j++)
      for (let o = 0; o < out; o++)
        for (let i = 0; i < inn; i++) f[((j * out + o) * 1 + 0) * inn + i] = w[(o * inn + i) * k + j]!;
    const h = (k - 1) / 2;
    return b.scope(key, () => {
      const y = b.conv2d(x, b.weight('filter', [k * out, 1, 1, inn], f), null, { padding: 'VALID' });
      const [n, hh, len] = y.shape as [number, number, number, number];
      // [1, 1, L + k − 1, k·out] → [1, L + k − 1, k, out]: tap j of output frame t is at frame t + j, row j.
      const yp = b.reshape(
        b.pad(y, [
          [0, 0],
          [0, 0],
          [h, h],
          [0, 0],
        ]),
        [n * hh, len + 2 * h, k, out],
        { openAxis: 1 },
      );
      let sum: T | null = null;
      for (let j = 0; j < k; j++) {
        const t = b.crop(yp, [null, [j, k - 1 - j], [j, k - 1 - j], null]);
        sum = sum ? b.add(sum, t) : t;
      }
      return b.reshape(sum as T, [n, hh, len, out], { openAxis: 2 });
    });
  }

  /** Weight-normed ConvTranspose1d(k = 2s, stride s, padding s/2): output length L·s. */
  convTranspose(x: T, key: string, stride: number, form: TransposedConvForm = 'native'): T {
    const b = this.b;
    const [inn, out, k] = this.shape(`${key}.weight_v`) as [number, number, number];
    const w = foldWeightNorm(this.W(`${key}.weight_g`), this.W(`${key}.weight_v`));
    const u = { w, bias: this.W(`${key}.bias`), inn, out, s: stride };
    if (form === 'conv3') return b.scope(key, () => transposedAsConv(b, x, u));
    if (form === 'conv2') return b.scope(key, () => transposedAsConv2(b, x, u));
    return b.scope(key, () =>
      b.transposeConv(
        x,
        b.weight('filter', [out, 1, k, inn], convTransposeFilter(w, inn, out, k)),
        b.f32('bias', [out], this.W(`${key}.bias`)),
        {
          stride: [1, stride],
          padding: 'SAME',
        },
      ),
    );
  }

  /**
   * x + conv_k1(snake(conv_k7(snake(x)))). With the 4-op Snake the inner Snake's α moves into the k7 conv's
   * output channels and 1/α into the k1 conv's input channels (the first Snake's input is shared with the
   * residual sum, so it keeps 5 ops).
   */
  residual(x: T, key: string, dilation: number, snakeForm: SnakeForm = '5-op'): T {
    let y = this.snake(x, `${key}.layers.0`);
    if (snakeForm === '4-op') {
      const { a, inv } = this.snakeParams(`${key}.layers.2`);
      y = this.conv(y, `${key}.layers.1`, { dilation, outScale: a });
      y = this.snakeScaled(y, `${key}.layers.2`, a, inv);
      y = this.conv(y, `${key}.layers.3`, { inScale: a.map((v) => 1 / v) });
    } else {
      y = this.conv(y, `${key}.layers.1`, { dilation });
      y = this.snake(y, `${key}.layers.2`);
      y = this.conv(y, `${key}.layers.3`);
    }
    return this.b.add(x, y);
  }
}

/** The decoder's upsampling layers in graph order (block b upsamples by strides[n − b]). */
export function decoderUpsamplers(cfg: StableAudioConfig): UpsamplerLayer[] {
  const { channels, cMults, strides } = cfg.vae;
  const mult = [1, ...cMults];
  const n = strides.length;
  const layers: UpsamplerLayer[] = [];
  let frames = latentLength(cfg);
  for (let b = 1; b <= n; b++) {
    const i = n - b;
    const stride = strides[i]!;
    layers.push({ block: b, stride, cin: channels * mult[i + 1]!, cout: channels * mult[i]!, frames });
    frames *= stride;
  }
  return layers;
}

/** Oobleck decoder: in `latents` [1,Cl,T]; out `audio` [io, T·prod(strides)] (planar). */
export function buildDecoder(
  cfg: StableAudioConfig,
  src: WeightSource,
  opts: DecoderBuildOptions = {},
): Graph {
  validateConfig(cfg);
  const spec = decoderSpec(cfg);
  checkWeights(src, spec, { what: 'Oobleck decoder weights (pretransform.model.decoder.*)' });
  const b = new GraphBuilder('audiogen convert: Oobleck decoder (weight norm folded)');
  b.weightsFp16 = !!opts.fp16Weights;
  const m = new Oobleck(b, getter(src), (k) => spec.get(k)!);
  const { latentDim, strides, ioChannels } = cfg.vae;
  // Open frames: the frame axis of every reshape is written -1 (TRANSPOSE_CONV's output size follows its input).
  const open = opts.openFrames !== false;
  const T = opts.plannedFrames ?? latentLength(cfg);
  if (!Number.isInteger(T) || T < 1 || (!open && T !== latentLength(cfg)))
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `plannedFrames must be a positive integer, with open frames (got ${opts.plannedFrames})`,
    );
  const ax = (axis: number) => (open ? { openAxis: axis } : {});
  const inp = b.input('latents', 'FLOAT32', [1, latentDim, T], ax(2));
  let x = b.reshape(b.transpose(b.reshape(inp, [latentDim, T], ax(1)), [1, 0]), [1, 1, T, latentDim], ax(2));
  x = m.conv(x, 'layers.0');
  const n = strides.length;
  const tc = opts.transposedConv ?? 'measured';
  const snakeForm = opts.snake ?? MEASURED_SNAKE_FORM;
  for (const layer of decoderUpsamplers(cfg)) {
    const blk = layer.block;
    opts.onProgress?.(`decoder: block ${blk}/${n}`, blk / (n + 1));
    x = m.snake(x, `layers.${blk}.layers.0`);
    const form = typeof tc === 'function' ? tc(layer) : tc === 'measured' ? measuredUpsamplerForm(layer) : tc;
    x = m.convTranspose(x, `layers.${blk}.layers.1`, layer.stride, form);
    [1, 3, 9].forEach((d, r) => {
      x = m.residual(x, `layers.${blk}.layers.${r + 2}`, d, snakeForm);
    });
  }
  x = m.snake(x, `layers.${n + 1}`);
  x =
    (opts.outputConv ?? MEASURED_OUTPUT_CONV_FORM) === 'taps'
      ? m.convAsTaps(x, `layers.${n + 2}`)
      : m.conv(x, `layers.${n + 2}`, { bias: false });
  const S = T * (cfg.sampleSize / latentLength(cfg));
  b.output(b.transpose(b.reshape(x, [S, ioChannels], ax(0)), [1, 0]), 'audio');
  opts.onProgress?.('decoder: built', 1);
  return b.build();
}

/** Oobleck encoder + VAE mean: in `audio` [1,io,S]; out `latents` [1,Cl,S/prod(strides)]. */
export function buildEncoder(cfg: StableAudioConfig, src: WeightSource, opts: BuildOptions = {}): Graph {
  validateConfig(cfg);
  const spec = encoderSpec(cfg);
  checkWeights(src, spec, { what: 'Oobleck encoder weights (pretransform.model.encoder.*)' });
  const b = new GraphBuilder('audiogen convert: Oobleck encoder (VAE mean; weight norm folded)');
  b.weightsFp16 = !!opts.fp16Weights;
  const m = new Oobleck(b, getter(src), (k) => spec.get(k)!);
  const { latentDim, strides, ioChannels } = cfg.vae;
  const S = cfg.sampleSize;
  const T = latentLength(cfg);
  const inp = b.input('audio', 'FLOAT32', [1, ioChannels, S]);
  let x = b.reshape(b.transpose(b.reshape(inp, [ioChannels, S]), [1, 0]), [1, 1, S, ioChannels]);
  x = m.conv(x, 'layers.0');
  const n = strides.length;
  for (let i = 0; i < n; i++) {
    const blk = i + 1;
    opts.onProgress?.(`encoder: block ${blk}/${n}`, blk / (n + 1));
    [1, 3, 9].forEach((d, r) => {
      x = m.residual(x, `layers.${blk}.layers.${r}`, d);
    });
    x = m.snake(x, `layers.${blk}.layers.3`);
    x = m.conv(x, `layers.${blk}.layers.4`, { stride: strides[i]! });
  }
  x = m.snake(x, `layers.${n + 1}`);
  x = m.conv(x, `layers.${n + 2}`, { outChannels: latentDim }); // VAE mean = first half of the channels
  b.output(b.reshape(b.transpose(b.reshape(x, [T, latentDim]), [1, 0]), [1, latentDim, T]), 'latents');
  opts.onProgress?.('encoder: built', 1);
  return b.build();
}
