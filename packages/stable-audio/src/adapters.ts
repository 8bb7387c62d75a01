import {
  type AudioClip,
  AudiogenError,
  audioClip,
  type Conditioner,
  type Conditioning,
  type ConditionParams,
  type Decoder,
  type DenoiseOptions,
  type Denoiser,
  type Encoder,
  formatShape,
  type Model,
  sameShape,
  type Tensor,
  type TensorInfo,
  type TokenizedText,
  tensor,
  toFloat32,
} from '@audiogen/core';
import { bindRoles, isInt, sizeOf } from './binding';
import { type DecodeWindow, decodeWindows, oobleckDecoderMargin } from './receptive-field';

const f32 = (t: TensorInfo) => t.dtype === 'float32';
const anyFloat = (t: TensorInfo) => t.dtype === 'float32' || t.dtype === 'float16';
/** Concrete shape: open (-1) dimensions become 1. */
const concrete = (s: readonly number[]) => s.map((d) => (d < 0 ? 1 : d));

/** Keys of the Conditioning a StableAudioConditioner returns and a StableAudioDenoiser reads. */
export const COND_CROSS = 'cross_attn_cond';
export const COND_GLOBAL = 'global_cond';
export const COND_CROSS_MASK = 'cross_attention_masks';

function outputOf(model: Model, outs: Record<string, Tensor>, info: TensorInfo): Tensor {
  const t = outs[info.name];
  if (!t) {
    throw new AudiogenError('RUNTIME_ERROR', `${model.label}: the run returned no output "${info.name}"`);
  }
  return t;
}

function floatTensor(t: Tensor): Tensor<'float32'> {
  if (t.dtype === 'float32') return t as Tensor<'float32'>;
  return tensor('float32', t.shape, toFloat32(t));
}

// ---------------------------------------------------------------- conditioner

/** T5 + seconds conditioner (`conditioners.tflite`): ids, mask, seconds → cross tokens, global vector. */
export class StableAudioConditioner implements Conditioner {
  readonly inputs: Record<string, TensorInfo>;
  readonly outputs: Record<string, TensorInfo>;
  /** Padded token length the model takes. */
  readonly tokenLength: number;

  constructor(
    readonly model: Model,
    options: { tokenLength?: number } = {},
  ) {
    const label = model.label || 'conditioners';
    this.inputs = bindRoles(label, 'input', model.inputs, [
      {
        role: 'input_ids',
        names: ['input_ids', 'ids'],
        describe: 'int64 [1,N] token ids',
        match: (t) => isInt(t.dtype) && t.shape.length === 2,
        byOrder: true,
      },
      {
        role: 'attention_mask',
        names: ['attention_mask', 'mask'],
        describe: 'int64 [1,N] attention mask',
        match: (t, b) => isInt(t.dtype) && sameShape(t.shape, b.input_ids?.shape ?? t.shape),
        byOrder: true,
      },
      {
        role: 'seconds_total',
        names: ['seconds_total', 'seconds'],
        describe: 'float32 [1] seconds',
        match: (t) => f32(t) && sizeOf(t.shape) === 1,
      },
    ]);
    this.outputs = bindRoles(label, 'output', model.outputs, [
      {
        role: 'cross',
        names: ['cross_attention_input', 'cross_attn_cond'],
        describe: 'float32 [1,S,D] cross-attention tokens',
        match: (t) => anyFloat(t) && t.shape.length === 3,
      },
      {
        role: 'global',
        names: ['global_cond', 'global_embed'],
        describe: 'float32 [1,D] global conditioning',
        match: (t, b) => anyFloat(t) && t.shape.length === 2 && t.shape[1] === b.cross?.shape[2],
        optional: true,
      },
      {
        role: 'mask',
        names: ['cross_attention_masks', 'cross_attention_mask'],
        describe: 'float32 [1,S] cross-attention mask',
        match: (t, b) => anyFloat(t) && t.shape.length === 2 && t.shape[1] === b.cross?.shape[1],
        optional: true,
      },
    ]);
    const dim = this.inputs.input_ids!.shape[1]!;
    this.tokenLength = dim > 0 ? dim : (options.tokenLength ?? 128);
  }

  async condition(tokens: TokenizedText, params: ConditionParams = {}): Promise<Conditioning> {
    const L = this.tokenLength;
    if (tokens.ids.length !== L || tokens.mask.length !== L) {
      throw new AudiogenError(
        'MODEL_MISMATCH',
        `the conditioner takes ${L} tokens, the tokenizer gave ${tokens.ids.length}; make the tokenizer with maxLength ${L}`,
      );
    }
    const seconds = params.seconds ?? 10;
    if (!Number.isFinite(seconds))
      throw new AudiogenError('INVALID_ARGUMENT', `seconds must be finite, got ${seconds}`);
    // A conditioner whose token axis is open (our converter's) runs T5 on what it is fed: only the prompt's
    // tokens (through its last unmasked one), not the padding — the same outputs, a fraction of the work.
    let n = L;
    if (this.inputs.input_ids!.shape[1]! < 0) {
      n = 1;
      for (let i = L - 1; i > 0; i--) {
        if (tokens.mask[i] !== 0) {
          n = i + 1;
          break;
        }
      }
    }
    const mk = (info: TensorInfo, src: Int32Array): Tensor => {
      const used = src.subarray(0, n);
      return info.dtype === 'int64'
        ? tensor(
            'int64',
            [1, n],
            BigInt64Array.from(used, (v) => BigInt(v)),
          )
        : tensor('int32', [1, n], Int32Array.from(used));
    };
    const ids = this.inputs.input_ids!;
    const mask = this.inputs.attention_mask!;
    const sec = this.inputs.seconds_total!;
    const outs = await this.model.run(
      {
        [ids.name]: mk(ids, tokens.ids),
        [mask.name]: mk(mask, tokens.mask),
        [sec.name]: tensor('float32', concrete(sec.shape), new Float32Array([seconds])),
      },
      { signal: params.signal },
    );
    const cond: Record<string, Tensor> = {
      [COND_CROSS]: floatTensor(outputOf(this.model, outs, this.outputs.cross!)),
    };
    if (this.outputs.global) cond[COND_GLOBAL] = floatTensor(outputOf(this.model, outs, this.outputs.global));
    if (this.outputs.mask) cond[COND_CROSS_MASK] = floatTensor(outputOf(this.model, outs, this.outputs.mask));
    return cond;
  }
}

// ---------------------------------------------------------------- denoiser

/** The DiT (`dit_model.tflite`): x, t, cross tokens, global vector → velocity v. */
export class StableAudioDenoiser implements Denoiser {
  readonly inputs: Record<string, TensorInfo>;
  readonly output: TensorInfo;
  readonly latentShape: readonly number[];

  constructor(readonly model: Model) {
    const label = model.label || 'dit';
    const out = bindRoles(label, 'output', model.outputs, [
      {
        role: 'v',
        names: ['v', 'output_0'],
        describe: 'float32 [1,C,T] velocity',
        match: (t) => anyFloat(t) && t.shape.length === 3,
      },
    ]);
    this.output = out.v!;
    const vShape = this.output.shape;
    this.inputs = bindRoles(label, 'input', model.inputs, [
      {
        role: 'x',
        names: ['x', 'args_0'],
        describe: `float32 ${formatShape(vShape)} latents (the output's shape)`,
        match: (t) => f32(t) && sameShape(t.shape, vShape),
      },
      {
        role: 't',
        names: ['t', 'timestep', 'args_1'],
        describe: 'float32 [1] time',
        match: (t) => f32(t) && sizeOf(t.shape) === 1,
      },
      {
        role: 'cross',
        names: ['cross_attn_cond', 'args_2'],
        describe: 'float32 [1,S,D] cross-attention tokens',
        match: (t) => f32(t) && t.shape.length === 3,
      },
      {
        role: 'global',
        names: ['global_cond', 'args_3'],
        describe: 'float32 [1,D] global conditioning',
        match: (t) => f32(t) && t.shape.length === 2,
        optional: true,
      },
    ]);
    this.latentShape = concrete(this.inputs.x!.shape);
  }

  async denoise(
    x: Float32Array,
    t: number,
    cond: Conditioning,
    options: DenoiseOptions = {},
  ): Promise<Float32Array> {
    const n = sizeOf(this.latentShape);
    if (x.length !== n) {
      throw new AudiogenError('INVALID_ARGUMENT', `latents have ${x.length} values, the DiT takes ${n}`);
    }
    const xi = this.inputs.x!;
    const ti = this.inputs.t!;
    const ci = this.inputs.cross!;
    const cross = cond[COND_CROSS];
    if (!cross) throw new AudiogenError('MISSING_INPUT', 'conditioning has no cross-attention tokens');
    if (!sameShape(concrete(ci.shape), cross.shape)) {
      throw new AudiogenError(
        'MODEL_MISMATCH',
        `the conditioner gives cross tokens ${formatShape(cross.shape)}, the DiT takes ${formatShape(ci.shape)}`,
      );
    }
    const feeds: Record<string, Tensor> = {
      [xi.name]: tensor('float32', this.latentShape, x),
      [ti.name]: tensor('float32', concrete(ti.shape), new Float32Array([t])),
      [ci.name]: cross,
    };
    const gi = this.inputs.global;
    if (gi) {
      const g = cond[COND_GLOBAL];
      const gShape = concrete(gi.shape);
      // Arm's DiT ignores this input (§2.2 of the model notes); zeros are fine when the conditioner has none.
      feeds[gi.name] = g && sameShape(g.shape, gShape) ? g : tensor('float32', gShape);
      if (g && !sameShape(g.shape, gShape)) {
        throw new AudiogenError(
          'MODEL_MISMATCH',
          `the conditioner gives a global vector ${formatShape(g.shape)}, the DiT takes ${formatShape(gi.shape)}`,
        );
      }
    }
    const outs = await this.model.run(feeds, { signal: options.signal });
    const v = floatTensor(outputOf(this.model, outs, this.output)).data;
    if (v.length !== n) {
      throw new AudiogenError('RUNTIME_ERROR', `the DiT returned ${v.length} values, expected ${n}`);
    }
    return v;
  }
}

// ---------------------------------------------------------------- decoder / encoder

export interface StableAudioDecoderOptions {
  /**
   * The autoencoder's strides (model_config.json order). With a decoder whose latent frame dimension is open
   * they give the output samples per latent frame and the receptive field; without them (or with a fixed
   * decoder, e.g. Arm's export) every decode is a full one.
   */
  strides?: readonly number[];
  /** false: the runtime runs only the model's planned length (no resize: LiteRT's GPU delegate). */
  partial?: boolean;
  /**
   * Latent frames of a full decode when the model is planned for fewer (a decoder compiled for a window: it
   * then decodes in windows of its planned length, with the margin on both sides of every cut). Default: the
   * planned length.
   */
  latentFrames?: number;
}

/**
 * The autoencoder's decoder (`autoencoder_model.tflite`): latents → planar audio [C, N]. When the model's
 * latent frame dimension is open (our converter's decoders), a decode of the first `frames` samples runs only
 * the latent frames they need plus the decoder's receptive-field margin: the samples kept are bit-equal to the
 * full decode's (the convs pad with zeros; see receptive-field.ts).
 */
export class StableAudioDecoder implements Decoder {
  readonly input: TensorInfo;
  readonly output: TensorInfo;
  readonly channels: number;
  /** Output frames of a full decode. */
  readonly frames: number;
  /** Latent frames of a full decode. */
  readonly latentFrames: number;
  /** Latent frames the model is planned (compiled) for: the longest run, what its activations are sized by. */
  readonly plannedFrames: number;
  /**
   * Samples past a crop's edge that a decode of fewer latent frames gets wrong (the receptive field's
   * half-width); undefined when the decoder cannot decode part of the latents (fixed frame dimension).
   */
  readonly margin: number | undefined;
  /** Whether the model runs other lengths than its planned one (an open frame dimension on a runtime that resizes). */
  readonly resizable: boolean;
  /** Output samples per latent frame. */
  readonly hop: number;

  constructor(
    readonly model: Model,
    readonly sampleRate: number,
    options: StableAudioDecoderOptions = {},
  ) {
    const label = model.label || 'decoder';
    this.input = bindRoles(label, 'input', model.inputs, [
      {
        role: 'latents',
        names: ['latents', 'args_0'],
        describe: 'float32 [1,C,T] latents',
        match: (t) => f32(t) && t.shape.length === 3,
      },
    ]).latents!;
    this.output = bindRoles(label, 'output', model.outputs, [
      {
        role: 'audio',
        names: ['audio', 'output_0'],
        describe: 'float32 [channels, frames] planar audio',
        match: (t) => anyFloat(t) && (t.shape.length === 2 || (t.shape.length === 3 && t.shape[0] === 1)),
      },
    ]).audio!;
    const s = this.output.shape;
    this.channels = s.length === 2 ? s[0]! : s[1]!;
    const planned = s[s.length - 1]!;
    if (!(this.channels >= 1 && this.channels <= 8 && planned > 0)) {
      throw new AudiogenError(
        'MODEL_MISMATCH',
        `${label}: output ${formatShape(s)} is not [channels, frames] audio`,
      );
    }
    const lat = this.input.shape;
    const T = lat[2]!;
    if (T > 0) {
      // Fixed frames (Arm's export, older folders): every decode is a full one.
      this.latentFrames = this.plannedFrames = T;
      this.frames = planned;
      this.hop = planned / T;
      this.margin = undefined;
      this.resizable = false;
    } else {
      const strides = options.strides ?? [];
      const hop = strides.reduce((a, b) => a * b, 1);
      const margin = oobleckDecoderMargin(strides);
      if (lat.length !== 3 || margin === undefined || !Number.isInteger(planned / hop)) {
        throw new AudiogenError(
          'MODEL_MISMATCH',
          `${label}: latents ${formatShape(lat)} have an open frame dimension, but the strides [${strides.join(', ')}] ` +
            `do not give its length (${planned} output frames); set config.decoderStrides in audiogen.json`,
        );
      }
      this.hop = hop;
      this.margin = margin;
      this.resizable = options.partial !== false;
      this.plannedFrames = planned / hop;
      this.latentFrames = Math.max(this.plannedFrames, options.latentFrames ?? 0);
      this.frames = this.latentFrames * hop;
      if (this.windows(this.frames).length === 0)
        throw new AudiogenError(
          'MODEL_MISMATCH',
          `${label}: planned for ${this.plannedFrames} latent frames, too few for windows with the decoder's ` +
            `${margin}-sample margin on both sides (a full decode is ${this.latentFrames} frames)`,
        );
    }
  }

  /** The runs that decode the first `frames` samples (one run unless the model is planned shorter). */
  windows(frames: number = this.frames): DecodeWindow[] {
    if (this.margin === undefined)
      return [{ from: 0, to: this.latentFrames, keepFrom: 0, keepTo: this.latentFrames }];
    return decodeWindows({
      frames,
      hop: this.hop,
      margin: this.margin,
      total: this.latentFrames,
      planned: this.plannedFrames,
      resizable: this.resizable,
    });
  }

  get latentShape(): readonly number[] {
    return [...concrete(this.input.shape.slice(0, 2)), this.latentFrames];
  }

  /** Latent frames a decode of the first `frames` output samples runs (all of them with a fixed decoder). */
  latentFramesFor(frames: number = this.frames): number {
    return this.windows(frames).reduce((n, w) => n + w.to - w.from, 0);
  }

  /**
   * Decodes full-length latents. With `frames`, the clip holds only the first `frames` samples, and a decoder
   * with an open frame dimension runs only latentFramesFor(frames) latent frames to make them.
   */
  async decode(
    latents: Float32Array,
    options: { signal?: AbortSignal; frames?: number } = {},
  ): Promise<AudioClip> {
    const shape = this.latentShape;
    if (latents.length !== sizeOf(shape)) {
      throw new AudiogenError(
        'INVALID_ARGUMENT',
        `latents have ${latents.length} values, the decoder takes ${formatShape(shape)}`,
      );
    }
    const want = options.frames ?? this.frames;
    if (!Number.isInteger(want) || want < 1)
      throw new AudiogenError('INVALID_ARGUMENT', `frames must be a positive integer, got ${want}`);
    const T = this.latentFrames;
    const C = shape[1]!;
    const keep = Math.min(want, this.frames);
    const channels = Array.from({ length: this.channels }, () => new Float32Array(keep));
    for (const w of this.windows(keep)) {
      const len = w.to - w.from;
      let feed = latents;
      if (len < T) {
        // [1, C, T] → frames [from, to) of every channel.
        feed = new Float32Array(C * len);
        for (let c = 0; c < C; c++) feed.set(latents.subarray(c * T + w.from, c * T + w.to), c * len);
      }
      const outs = await this.model.run(
        { [this.input.name]: tensor('float32', [shape[0]!, C, len], feed) },
        { signal: options.signal },
      );
      const audio = floatTensor(outputOf(this.model, outs, this.output)).data;
      const n = len * this.hop;
      if (audio.length !== n * this.channels) {
        throw new AudiogenError(
          'RUNTIME_ERROR',
          `the decoder returned ${audio.length} samples, expected ${n * this.channels}`,
        );
      }
      // The samples of frames [keepFrom, keepTo), at most `keep`.
      const at = w.keepFrom * this.hop;
      const end = Math.min(keep, w.keepTo * this.hop);
      const off = (w.keepFrom - w.from) * this.hop;
      for (let c = 0; c < this.channels; c++)
        channels[c]!.set(audio.subarray(c * n + off, c * n + off + end - at), at);
    }
    return audioClip(this.sampleRate, channels);
  }
}

/** The autoencoder's encoder (`autoencoder_encoder.tflite`): audio [1, C, N] → latents (VAE mean). */
export class StableAudioEncoder implements Encoder {
  readonly input: TensorInfo;
  readonly output: TensorInfo;
  readonly channels: number;
  readonly frames: number;

  constructor(
    readonly model: Model,
    readonly sampleRate: number,
  ) {
    const label = model.label || 'encoder';
    this.input = bindRoles(label, 'input', model.inputs, [
      {
        role: 'audio',
        names: ['audio', 'args_0'],
        describe: 'float32 [1,C,N] audio',
        match: (t) => f32(t) && t.shape.length === 3,
      },
    ]).audio!;
    this.output = bindRoles(label, 'output', model.outputs, [
      {
        role: 'latents',
        names: ['latents', 'output_0'],
        describe: 'float32 [1,C,T] latents',
        match: (t) => anyFloat(t) && t.shape.length === 3,
      },
    ]).latents!;
    this.channels = this.input.shape[1]!;
    this.frames = this.input.shape[2]!;
  }

  get latentShape(): readonly number[] {
    return concrete(this.output.shape);
  }

  /** Encodes a clip at the model's sample rate; mono is duplicated, other channel counts are refused; length is padded/cut. */
  async encode(audio: AudioClip, options: { signal?: AbortSignal } = {}): Promise<Float32Array> {
    if (audio.sampleRate !== this.sampleRate) {
      throw new AudiogenError(
        'INVALID_ARGUMENT',
        `init audio is ${audio.sampleRate} Hz, the encoder takes ${this.sampleRate} Hz; resample it first`,
      );
    }
    const C = this.channels;
    const N = this.frames;
    const src = audio.channels;
    if (src.length !== C && src.length !== 1) {
      throw new AudiogenError(
        'INVALID_ARGUMENT',
        `init audio has ${src.length} channels, the encoder takes ${C} (or mono)`,
      );
    }
    const data = new Float32Array(C * N);
    for (let c = 0; c < C; c++) {
      const ch = src[src.length === 1 ? 0 : c]!;
      data.set(ch.subarray(0, N), c * N);
    }
    const outs = await this.model.run(
      { [this.input.name]: tensor('float32', [1, C, N], data) },
      { signal: options.signal },
    );
    return floatTensor(outputOf(this.model, outs, this.output)).data;
  }
}
