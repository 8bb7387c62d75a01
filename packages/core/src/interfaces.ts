import type { AudioClip } from './audio';
import type { ProgressCallback } from './progress';
import type { DType, Tensor } from './tensor';

// ---------------------------------------------------------------- runtime

export interface TensorInfo {
  readonly name: string;
  readonly dtype: DType;
  /** Static shape; -1 where the model leaves a dimension open. */
  readonly shape: readonly number[];
}

export interface SignatureInfo {
  readonly key: string;
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
}

export interface LoadOptions {
  /** CPU threads for this model; default chosen by the runtime. */
  threads?: number;
  /** Run float32 ops in fp16 (XNNPACK FORCE_FP16); as Arm's sample does for the decoder. */
  forceFp16?: boolean;
  /** Raw XNNPACK delegate flags OR-ed in after the runtime's defaults. */
  xnnpackFlags?: number;
  /** Where XNNPACK may cache packed weights between loads. */
  weightCachePath?: string;
  /**
   * Run Snake activations (x + sin²(αx)/β, five float ops) as one fused op where the runtime can; runtime-native
   * fuses by default (faster, some more memory: its README). Runtimes that cannot fuse ignore it.
   */
  fuseSnake?: boolean;
  /** Used in errors and progress events. */
  label?: string;
  /**
   * Record every node's time in every run where the runtime can (runtime-native: LiteRT's profiler), read with
   * the model's `profileSummary()`; a little slower per node: for diagnostics. Runtimes that cannot ignore it.
   */
  profile?: boolean;
  /**
   * Where the model runs: 'cpu' (default), 'gpu' (fails with ACCELERATOR_UNAVAILABLE and the reason when the GPU
   * cannot run the whole model), 'auto' (the GPU when it can run the whole model, else the CPU with a warning).
   * Runtimes without a GPU treat 'auto' as 'cpu' and refuse 'gpu'.
   */
  accelerator?: 'cpu' | 'gpu' | 'auto';
  /** GPU arithmetic: 'fp16' (default; LiteRT's GPU default) or 'fp32' (enforced full precision). */
  gpuPrecision?: 'fp16' | 'fp32';
}

export interface RunOptions {
  signal?: AbortSignal;
  /** Signature key; defaults to the first signature. */
  signature?: string;
  /**
   * Caller-owned output tensors by name, written in place and returned as the result (no allocation per
   * run: reuse them across runs in a loop). Each must have the output's dtype and shape. Outputs not
   * listed are allocated as usual. Runtimes that cannot write in place copy into them.
   */
  outputs?: Readonly<Record<string, Tensor>>;
}

/** A loaded, compiled model. Inputs and outputs are bound by name. */
export interface Model {
  readonly label: string;
  readonly signatures: readonly SignatureInfo[];
  /** Inputs/outputs of the default (first) signature. */
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  run(inputs: Readonly<Record<string, Tensor>>, options?: RunOptions): Promise<Record<string, Tensor>>;
  /** Changes an input's shape where the model allows it. */
  resizeInput?(name: string, shape: readonly number[], options?: { signature?: string }): void;
  /** Loaded with `profile: true` by a runtime that profiles: its table of node times over every run since load. */
  profileSummary?(): Promise<string>;
  dispose(): void;
  readonly disposed: boolean;
}

/**
 * The CPU a runtime runs its kernels on, as far as precision policy needs it: the architecture and the
 * instruction-set features by their Linux /proc/cpuinfo names (x86 `avx2`, `avx512vnni`, `avx_vnni`…;
 * arm64 `asimddp`, `i8mm`, `asimdhp`, `sme2`…). Empty features = unknown.
 */
export interface HostCpu {
  readonly arch: string;
  readonly cpuModel?: string;
  readonly features: Readonly<Record<string, boolean>>;
}

export interface Runtime {
  readonly name: string;
  load(source: string | Uint8Array, options?: LoadOptions): Promise<Model>;
  /** The CPU this runtime's kernels run on (model packages choose precisions from it). */
  readonly host?: HostCpu;
}

// ---------------------------------------------------------------- pipeline pieces

export interface TokenizedText {
  /** Token ids, padded to the model's length. */
  readonly ids: Int32Array;
  /** 1 for a real token (incl. EOS), 0 for padding. */
  readonly mask: Int32Array;
  /** Number of real tokens. */
  readonly length: number;
  /** True when the text did not fit and was cut. */
  readonly truncated: boolean;
}

export interface Tokenizer {
  readonly maxLength: number;
  encode(text: string): TokenizedText;
}

/** Whatever the denoiser needs besides x and t (for Stable Audio: cross tokens and global vector). */
export type Conditioning = Readonly<Record<string, Tensor>>;

export interface ConditionParams {
  seconds?: number;
  signal?: AbortSignal;
}

export interface Conditioner {
  condition(tokens: TokenizedText, params?: ConditionParams): Promise<Conditioning>;
}

export interface DenoiseOptions {
  signal?: AbortSignal;
}

/** One network evaluation: returns the model output (for rectified-flow models, the velocity v). */
export interface Denoiser {
  readonly latentShape: readonly number[];
  denoise(x: Float32Array, t: number, cond: Conditioning, options?: DenoiseOptions): Promise<Float32Array>;
}

export interface Decoder {
  readonly sampleRate: number;
  decode(latents: Float32Array, options?: { signal?: AbortSignal }): Promise<AudioClip>;
}

export interface Encoder {
  readonly sampleRate: number;
  encode(audio: AudioClip, options?: { signal?: AbortSignal }): Promise<Float32Array>;
}

// ---------------------------------------------------------------- sampling

/** A noise stream: fills arrays with standard-normal samples, deterministically. */
export interface NoiseStream {
  fillNormal(out: Float32Array): void;
}

/** Independent noise streams per purpose, derived from one seed. */
export interface NoiseSource {
  readonly seed: number;
  /** 'init' = initial latent noise; 'step' = noise injected at step `index`. */
  stream(purpose: 'init' | 'step', index?: number): NoiseStream;
}

/** A decreasing list of times t[0] (start) … t[last] (= 0 for a full run). */
export interface Schedule {
  readonly t: Float64Array;
}

/** The network as a sampler sees it: x and t in, model output out. */
export type VelocityFn = (x: Float32Array, t: number, step: number) => Promise<Float32Array>;

export interface StepInfo {
  step: number;
  steps: number;
  t: number;
  tNext: number;
  x: Float32Array;
  denoised: Float32Array;
}

/** Return false (or a promise of false) to stop sampling after this step. */
// biome-ignore lint/suspicious/noConfusingVoidType: callbacks without a return statement must type-check
export type StepCallback = (info: StepInfo) => undefined | boolean | Promise<undefined | boolean> | void;

export interface SampleArgs {
  model: VelocityFn;
  /** Starting latent, already noised for schedule.t[0]. Samplers must not mutate it. */
  x: Float32Array;
  schedule: Schedule;
  noise: NoiseSource;
  callback?: StepCallback;
  signal?: AbortSignal;
}

/** Serialisable sampler configuration; `name` picks the sampler in a registry. */
export interface SamplerConfig {
  readonly name: string;
  readonly steps?: number;
  readonly [key: string]: unknown;
}

export interface Sampler {
  readonly config: SamplerConfig;
  sample(args: SampleArgs): Promise<Float32Array>;
}

/** Combines conditional and unconditional predictions (classifier-free guidance). */
export interface Guidance {
  readonly scale: number;
  /** True when an unconditional evaluation is needed at this t. */
  needsUncond(t: number): boolean;
  combine(cond: Float32Array, uncond: Float32Array, t: number): Float32Array;
}

// ---------------------------------------------------------------- tools

export interface Converter<I = unknown, O = unknown> {
  readonly name: string;
  convert(
    input: I,
    options?: { signal?: AbortSignal; onProgress?: (message: string, fraction?: number) => void },
  ): Promise<O>;
}

export interface QuantizeResult<R = unknown> {
  model: Uint8Array;
  report: R;
}

export interface Quantizer<Recipe = unknown, R = unknown> {
  quantize(
    model: Uint8Array,
    recipe: Recipe,
    options?: { onProgress?: (message: string, fraction?: number) => void },
  ): Promise<QuantizeResult<R>>;
}

export type { ProgressCallback };
