import { fstatSync, writeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import {
  AudiogenError,
  checkHooks,
  isAudiogenError,
  type LoadOptions,
  MAX_INPUT_BYTES,
  type Model,
  type RunOptions,
  type Runtime,
  readInputFile,
  type SignatureInfo,
  shapeSize,
  statInputFile,
  storageLength,
  type Tensor,
  type TensorInfo,
  throwIfAborted,
  typedArrayConstructor,
} from '@audiogen/core';
import { elementTypeName, elementTypeToDType } from './dtypes';
import { ADD_SNAKE_OP, SNAKE_OP } from './fuse';
import {
  type Accelerator,
  adapterFromLog,
  checkAccelerator,
  checkGpuPrecision,
  classifyGpuFailure,
  findGpuLibrary,
  GPU_LIBRARY,
  GPU_PACKAGE,
  type GpuPrecision,
  type GpuRefusal,
  gpuDroppedLogPrefixes,
  gpuToml,
  HW_GPU,
} from './gpu';
import { hostCpu } from './host';
import {
  loadAddon,
  type NativeAddon,
  type NativeErrorProps,
  type NativeModelHandle,
  type NativeOutput,
  type NativeSignature,
} from './native';
import {
  type ScaleProblem,
  type SnakeAppendix,
  type TfliteScan,
  verifyModelBytes,
  verifyModelFile,
} from './verify';

/** XNNPACK delegate flags (tflite/delegates/xnnpack/xnnpack_delegate.h). */
export const XnnpackFlags = {
  QS8: 0x1,
  QU8: 0x2,
  FORCE_FP16: 0x4,
  DYNAMIC_FULLY_CONNECTED: 0x8,
  TRANSIENT_INDIRECTION_BUFFER: 0x20,
  ENABLE_LATEST_OPERATORS: 0x40,
  SLOW_CONSISTENT_ARITHMETIC: 0x200,
  DISABLE_SUBGRAPH_RESHAPING: 0x400,
  DISABLE_DYNAMICALLY_QUANTIZED_OPS: 0x800,
} as const;

/**
 * Flags we pass when the caller sets any flag: LiteRT replaces the delegate's default flags with the
 * ones given, so we re-state the usual defaults (signed and unsigned 8-bit quantized inference).
 */
export const DEFAULT_XNNPACK_FLAGS = XnnpackFlags.QS8 | XnnpackFlags.QU8;

export type LogLevel = 'verbose' | 'info' | 'warning' | 'error';
const SEVERITY: Record<LogLevel, number> = { verbose: 0, info: 1, warning: 2, error: 3 };
/**
 * How TFLite's own logger (which LiteRT's severity option does not reach: e.g. "INFO: Created TensorFlow Lite
 * XNNPACK delegate for CPU.") starts its lines, by severity: the lines below the chosen level are dropped
 * from stderr while a model is created and compiled.
 */
const TFLITE_LOG_PREFIXES = ['VERBOSE: ', 'INFO: ', 'WARNING: ', 'ERROR: '];
export function droppedLogPrefixes(level: LogLevel): string[] {
  return TFLITE_LOG_PREFIXES.slice(0, SEVERITY[level]);
}

export interface NativeRuntimeOptions {
  /** Default CPU threads for models loaded by this runtime (default: available parallelism, at most 8). */
  threads?: number;
  /**
   * LiteRT's and TFLite's log level (default 'error'): LiteRT's logger is set once per process by the first
   * load; TFLite's lines below the level (e.g. `INFO: Created TensorFlow Lite XNNPACK delegate for CPU.`) are
   * filtered out of stderr while each model loads.
   */
  logLevel?: LogLevel;
  /**
   * When compiling a model fails, LiteRT's explanation only reaches stderr: compile once more with
   * stderr (fd 2) captured so that the text lands in the error as well (default true). The capture is
   * process-wide and serialized; everything captured is still forwarded to stderr as it arrives, but
   * text other threads write to stderr during that retry also ends up in the error.
   */
  captureStderr?: boolean;
  /**
   * Also print LiteRT's reported messages on stderr, as LiteRT did before they were collected into the
   * errors (default true). Lines LiteRT logs itself (e.g. "Failed to invoke") go to stderr regardless.
   */
  echoLiteRtErrors?: boolean;
  /**
   * Directory holding LiteRT's GPU accelerator library (`libLiteRtWebGpuAccelerator.so` on Linux). Default: the
   * first of `$AUDIOGEN_LITERT_GPU_DIR`, beside the addon, the optional `@audiogen/runtime-native-gpu` package.
   */
  gpuLibraryDir?: string;
  /** Called when `accelerator: 'auto'` falls back to the CPU (default: `process.emitWarning`). */
  onWarning?: (warning: AcceleratorWarning) => void;
  /**
   * How a model given as a path reaches LiteRT. 'copy' (default): the file is read once into a private
   * native block that is verified and then used by LiteRT for the model's life, so the model survives
   * its file being truncated, replaced or deleted; costs the file's size in anonymous memory (see the
   * README). 'map': LiteRT maps the file itself (page-cache backed, reclaimable), but truncating the file
   * while the model is loaded kills the process with SIGBUS. Files larger than one buffer can hold
   * (4 GiB on Node 20) are always mapped.
   */
  modelFiles?: 'copy' | 'map';
  /**
   * Linux, `modelFiles: 'copy'`: once a model is compiled, free the pages of its private copy that hold
   * weights XNNPACK has packed into its own memory (default true), so a model costs its weights once,
   * not twice. Every run checks that no freed page was read (a run that did fails with RUNTIME_ERROR).
   */
  releasePackedWeights?: boolean;
  /**
   * Run each Snake activation (x + sin²(αx)/β, five float ops as converters write it; the Stable Audio
   * decoder has 36) as one op, the addon's one-pass kernel, on the model's threads (default true). The file
   * is not changed: the fused tables are appended to the model's private copy (Linux, `modelFiles: 'copy'`,
   * CPU placement). `model.fusedSnakes` says how many were fused. A load's own `fuseSnake` wins.
   */
  fuseSnake?: boolean;
}

/** Where a model runs and why (`model.placement`). */
export interface Placement {
  requested: Accelerator;
  accelerator: 'cpu' | 'gpu';
  /** GPU only: the arithmetic precision asked for. */
  precision?: GpuPrecision;
  /** GPU only: the adapter LiteRT's WebGPU backend selected, as it logs it (first GPU load of the process). */
  adapter?: string;
  /** GPU only: LiteRtCompiledModelIsFullyAccelerated (always true: partial placements are refused). */
  fullyAccelerated?: boolean;
  /** 'auto' that ended on the CPU: why the GPU was not used. */
  fallback?: { reason: GpuRefusal; message: string; ops?: { op: string; reason: string }[] };
}

export interface AcceleratorWarning {
  code: 'GPU_FALLBACK';
  label: string;
  reason: GpuRefusal;
  message: string;
  ops?: { op: string; reason: string }[];
}

/** `details.litert` of an AudiogenError caused by a failing LiteRT call. */
export interface LiteRtErrorDetails {
  /** LiteRtStatus of the failed call (e.g. 3 = runtime failure). */
  status?: number;
  statusName?: string;
  /** The C API call or step that failed, e.g. 'RunCompiledModel', 'prepare (allocate tensors)'. */
  op?: string;
  /** LiteRT's own explanation, one entry per line (empty when it said nothing we could collect). */
  messages: string[];
  /**
   * Where the messages came from: the compiled model's buffer error reporter, or stderr captured
   * while a failed compile was retried.
   */
  source: 'error-reporter' | 'stderr' | 'none';
}

/** The CPU options a model was compiled with (also shown by `audiogen doctor`). */
export interface EffectiveCpuOptions {
  threads: number;
  /** undefined = LiteRT's built-in defaults were kept. */
  xnnpackFlags?: number;
  weightCachePath?: string;
  toml: string;
}

export interface NativeModel extends Model {
  readonly cpuOptions: EffectiveCpuOptions;
  /**
   * What LiteRT reported while compiling and preparing a model that did load (e.g. XNNPACK declining a
   * node, which then runs on LiteRT's reference kernels); usually empty.
   */
  readonly loadMessages: readonly string[];
  /** Custom ops the file declares (from our scan of the flatbuffer). */
  readonly customOps: readonly string[];
  /** Where the model runs ('cpu' or 'gpu') and, for 'auto' on the CPU, why. */
  readonly placement: Placement;
  /** Bytes of the model's private copy freed after compile (`releasePackedWeights`); 0 if none. */
  readonly releasedWeightBytes: number;
  /** Snake activations run as one op each (`fuseSnake`); 0 if none. */
  readonly fusedSnakes: number;
  /**
   * Loaded with `profile: true`: LiteRT's per-node and per-node-type table (XNNPACK's operators by name, average
   * time per run, share of the total) over every run since load (load a fresh copy for a clean table), read
   * once the runs already started have finished. INVALID_ARGUMENT for a model loaded without `profile`.
   */
  profileSummary(): Promise<string>;
}

export function defaultThreads(): number {
  return Math.max(1, Math.min(8, availableParallelism()));
}

function checkInt(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `${name} must be an integer in [${min}, ${max}], got ${String(v)}`,
    );
  }
  return v;
}

/** An optional boolean option: its value, or `dflt` when left out. */
function optionalBoolean(name: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new AudiogenError('INVALID_ARGUMENT', `${name} must be a boolean`);
  return v;
}

export function cpuOptionsFor(options: LoadOptions, runtimeThreads?: number): EffectiveCpuOptions {
  const threads = checkInt('threads', options.threads ?? runtimeThreads ?? defaultThreads(), 1, 256);
  let flags: number | undefined;
  optionalBoolean('forceFp16', options.forceFp16, false);
  if (options.xnnpackFlags !== undefined || options.forceFp16) {
    const extra =
      options.xnnpackFlags === undefined ? 0 : checkInt('xnnpackFlags', options.xnnpackFlags, 0, 0xffffffff);
    flags = (DEFAULT_XNNPACK_FLAGS | extra | (options.forceFp16 ? XnnpackFlags.FORCE_FP16 : 0)) >>> 0;
  }
  let toml = `num_threads = ${threads}\n`;
  if (flags !== undefined) toml += `flags = ${flags}\n`;
  const cache = options.weightCachePath;
  if (cache !== undefined) {
    if (typeof cache !== 'string' || cache.length === 0 || /["\n\r\\]/.test(cache)) {
      throw new AudiogenError(
        'INVALID_ARGUMENT',
        `weightCachePath must be a plain path without quotes/newlines/backslashes`,
      );
    }
    toml += `weight_cache_file_path = "${cache}"\n`;
  }
  return { threads, xnnpackFlags: flags, weightCachePath: cache, toml };
}

const STATUS_NAMES: Record<number, string> = {
  1: 'invalid argument',
  2: 'memory allocation failure',
  3: 'runtime failure',
  4: 'missing input tensor',
  5: 'unsupported',
  6: 'not found',
  100: 'cancelled',
  500: 'file I/O error',
  501: 'invalid flatbuffer',
  504: 'compilation error',
};

/** The quantized constants XNNPACK refuses, to explain a failed load (never throws). */
function scaleProblems(scan?: TfliteScan): ScaleProblem[] {
  try {
    return scan?.scaleProblems?.() ?? [];
  } catch {
    return [];
  }
}

const MAX_MESSAGE_TEXT = 2000;

/**
 * LiteRT's text as lines. Reporter text is one message per line. Captured stderr is filtered: blank
 * lines and INFO/VERBOSE/DEBUG log lines are dropped, and the "ERROR: " prefix TFLite's default
 * reporter puts before each message is removed.
 */
export function litertMessageLines(text: string | undefined, source: 'error-reporter' | 'stderr'): string[] {
  if (!text) return [];
  const lines = text.split(/\r?\n/).map((l) => l.trimEnd());
  if (source === 'error-reporter') return lines.filter((l) => l.trim() !== '');
  return lines
    .filter((l) => l.trim() !== '' && !/^(INFO|VERBOSE|DEBUG): /.test(l))
    .map((l) => l.replace(/^ERROR: /, ''));
}

/** The structured part, or undefined when the error did not come from a LiteRT call. */
function litertDetails(err: NativeErrorProps): LiteRtErrorDetails | undefined {
  if (err.litertStatus === undefined) return undefined;
  const reported = litertMessageLines(err.litertMessages, 'error-reporter');
  const captured = litertMessageLines(err.litertStderr, 'stderr');
  const source = reported.length > 0 ? 'error-reporter' : captured.length > 0 ? 'stderr' : 'none';
  return {
    status: err.litertStatus,
    statusName: STATUS_NAMES[err.litertStatus],
    op: err.op,
    messages: reported.length > 0 ? reported : captured,
    source,
  };
}

// What LiteRT's text says happened (its status codes are too coarse: 3 covers most failures).
const OUT_OF_MEMORY_TEXT =
  /bad_alloc|out of memory|failed to allocate memory|cannot allocate memory|Failed to allocate \d+ bytes/i;
const MALFORMED_TEXT = /invalidly specified in schema|elements overflowed|invalid (op|tensor|buffer)\b/i;
const UNSUPPORTED_TEXT =
  /unresolved custom op|Didn't find op|Registration failed|not supported|unsupported|not implemented/i;
const SHAPE_TEXT = /reshape|shape|broadcast|dimension|rank|failed to prepare/i;

function nativeError(e: unknown, label: string, scan?: TfliteScan, phase = 'run'): AudiogenError {
  if (isAudiogenError(e)) return e;
  const err = e as { message?: string } & NativeErrorProps;
  const status = err.litertStatus;
  const litert = litertDetails(err);
  let said = litert && litert.messages.length > 0 ? litert.messages.join('; ') : '';
  if (said.length > MAX_MESSAGE_TEXT) said = `${said.slice(0, MAX_MESSAGE_TEXT)}… (see details.litert)`;
  const msg =
    `${label}: ${err.message ?? String(e)}${status !== undefined && STATUS_NAMES[status] ? ` (${STATUS_NAMES[status]})` : ''}` +
    (said ? `; LiteRT says: ${said}` : '');
  const details = { label, litertStatus: status, op: err.op, phase, ...(litert ? { litert } : {}) };
  if (err.code === 'DISPOSED')
    return new AudiogenError('DISPOSED', `${label}: model has been disposed`, { details });
  if (err.code === 'ABORTED' || status === 100)
    return new AudiogenError('ABORTED', `${label}: run was cancelled`, { cause: e, details });
  const text = `${said} ${err.message ?? ''}`;
  // Memory LiteRT could not get (load or run): say so, rather than 'unsupported' or a runtime failure.
  if (status === 2 || OUT_OF_MEMORY_TEXT.test(text))
    return new AudiogenError('OUT_OF_MEMORY', `${label}: LiteRT ran out of memory: ${msg}`, {
      cause: e,
      details,
    });
  if (status === 501) return new AudiogenError('INVALID_TFLITE', msg, { cause: e, details });
  // At load the file was read and verified by us; LiteRT's "file I/O error", a failed model creation or an
  // exception while reading it (no status) mean LiteRT found the model itself malformed.
  if (
    phase === 'load' &&
    (status === 500 ||
      status === undefined ||
      /^CreateModelFrom/.test(err.op ?? '') ||
      MALFORMED_TEXT.test(text))
  )
    return new AudiogenError('INVALID_TFLITE', `${label}: LiteRT cannot read the model: ${msg}`, {
      cause: e,
      details,
    });
  if (status === 500) return new AudiogenError('IO_ERROR', msg, { cause: e, details });
  if (phase === 'load' && scan && scan.customOps.length > 0) {
    return new AudiogenError(
      'UNSUPPORTED_OPS',
      `${label}: LiteRT cannot prepare the model; it uses custom ops this runtime does not provide: ${scan.customOps.join(', ')}`,
      { cause: e, details: { ...details, customOps: scan.customOps } },
    );
  }
  if (phase === 'load' && (status === 3 || status === 5 || status === 504)) {
    const bad = scaleProblems(scan);
    if (bad.length > 0) {
      const list = bad
        .slice(0, 3)
        .map((p) => {
          const what = [
            p.zero ? `${p.zero} are 0` : '',
            p.invalid ? `${p.invalid} negative or not finite` : '',
          ]
            .filter(Boolean)
            .join(', ');
          return `'${p.name}' (subgraph ${p.subgraph} tensor ${p.tensor}: ${what} of ${p.total} ${p.kind} scales)`;
        })
        .join(', ');
      const more = bad.length > 3 ? ` and ${bad.length - 3} more tensors` : '';
      return new AudiogenError(
        'UNSUPPORTED',
        `${label}: XNNPACK refuses quantized weights whose scales are 0 or not finite: ${list}${more}. A scale of 0 comes from an all-zero weight block (its fp16 scale rounds to 0); quantize these ops channelwise or keep them float (${msg})`,
        { cause: e, details: { ...details, scaleProblems: bad } },
      );
    }
    // A kernel that exists but cannot prepare the model's shapes: the model is inconsistent, not unsupported.
    if (!UNSUPPORTED_TEXT.test(text) && SHAPE_TEXT.test(text))
      return new AudiogenError(
        'INVALID_MODEL',
        `${label}: LiteRT cannot prepare the model: its tensor shapes do not fit together: ${msg}`,
        { cause: e, details },
      );
    return new AudiogenError(
      'UNSUPPORTED_OPS',
      `${label}: LiteRT cannot prepare the model for the CPU: ${msg}`,
      {
        cause: e,
        details,
      },
    );
  }
  return new AudiogenError('RUNTIME_ERROR', msg, { cause: e, details });
}

interface SigState {
  key: string;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  /** Per input: the model's shape_signature when it has open (-1) dims. */
  open: (number[] | undefined)[];
  /** Per input: the concrete shape the compiled model is currently allocated for. */
  shapes: number[][];
}

function toInfo(t: { name: string; elementType: number; shape: number[] }, label: string): TensorInfo {
  const dtype = elementTypeToDType(t.elementType);
  if (!dtype) {
    throw new AudiogenError(
      'UNSUPPORTED',
      `${label}: tensor '${t.name}' has element type ${elementTypeName(t.elementType)}, which this runtime cannot exchange`,
    );
  }
  return { name: t.name, dtype, shape: [...t.shape] };
}

class LiteRtModel implements NativeModel {
  readonly label: string;
  readonly cpuOptions: EffectiveCpuOptions;
  readonly customOps: readonly string[];
  readonly loadMessages: readonly string[];
  readonly releasedWeightBytes: number;
  readonly fusedSnakes: number;
  placement: Placement = { requested: 'cpu', accelerator: 'cpu' };
  /** Loaded with `profile` (set by load). */
  profiled = false;
  private handle: NativeModelHandle;
  private sigs: SigState[];
  private isDisposed = false;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    handle: NativeModelHandle,
    label: string,
    cpu: EffectiveCpuOptions,
    scan: TfliteScan,
    fusedSnakes: number,
  ) {
    this.handle = handle;
    this.label = label;
    this.cpuOptions = cpu;
    this.customOps = scan.customOps;
    this.loadMessages = litertMessageLines(handle.loadMessages, 'error-reporter');
    this.releasedWeightBytes = handle.releasedBytes ?? 0;
    this.fusedSnakes = fusedSnakes;
    this.sigs = handle.signatures().map((s: NativeSignature) => ({
      key: s.key,
      inputs: s.inputs.map((t) => {
        const info = toInfo(t, label);
        const open = scan.openDims.get(`${s.key}/${t.name}`);
        return open && open.length === info.shape.length ? { ...info, shape: [...open] } : info;
      }),
      outputs: s.outputs.map((t) => toInfo(t, label)),
      open: s.inputs.map((t) => scan.openDims.get(`${s.key}/${t.name}`)),
      shapes: s.inputs.map((t) => [...t.shape]),
    }));
    if (this.sigs.length === 0)
      throw new AudiogenError('INVALID_MODEL', `${label}: the model has no signatures`);
  }

  get disposed(): boolean {
    return this.isDisposed;
  }

  get signatures(): readonly SignatureInfo[] {
    return this.sigs.map((s) => ({ key: s.key, inputs: s.inputs, outputs: s.outputs }));
  }

  get inputs(): readonly TensorInfo[] {
    return this.sigs[0]!.inputs;
  }

  get outputs(): readonly TensorInfo[] {
    return this.sigs[0]!.outputs;
  }

  private ensureLive(): void {
    if (this.isDisposed) throw new AudiogenError('DISPOSED', `${this.label}: model has been disposed`);
  }

  private signatureIndex(key: string | undefined): number {
    if (key === undefined) return 0;
    const i = this.sigs.findIndex((s) => s.key === key);
    if (i < 0) {
      throw new AudiogenError(
        'NOT_FOUND',
        `${this.label}: no signature '${key}' (has: ${this.sigs.map((s) => s.key).join(', ')})`,
        { details: { signature: key } },
      );
    }
    return i;
  }

  resizeInput(name: string, shape: readonly number[], options: { signature?: string } = {}): void {
    this.ensureLive();
    const si = this.signatureIndex(options.signature);
    const sig = this.sigs[si]!;
    const ii = sig.inputs.findIndex((t) => t.name === name);
    if (ii < 0) {
      throw new AudiogenError(
        'INVALID_ARGUMENT',
        `${this.label}: no input '${name}' (inputs: ${sig.inputs.map((t) => t.name).join(', ')})`,
      );
    }
    if (
      !Array.isArray(shape) ||
      shape.length > 8 ||
      shape.some((d) => !Number.isInteger(d) || d < 1 || d > 2 ** 31 - 1)
    ) {
      throw new AudiogenError(
        'INVALID_ARGUMENT',
        `${this.label}: invalid shape [${String(shape)}] for input '${name}'`,
      );
    }
    const open = sig.open[ii];
    const cur = sig.inputs[ii]!.shape;
    const fixedOk =
      open !== undefined && open.length === shape.length && open.every((d, k) => d < 0 || d === shape[k]);
    if (!fixedOk) {
      throw new AudiogenError(
        'INVALID_ARGUMENT',
        `${this.label}: input '${name}' has shape [${cur.join(', ')}] and cannot be resized to [${shape.join(', ')}]` +
          (open ? '' : ' (the model declares no open dimensions)'),
      );
    }
    try {
      this.handle.resizeInput(si, ii, [...shape]);
    } catch (e) {
      throw nativeError(e, this.label);
    }
    sig.shapes[ii] = [...shape];
  }

  run(inputs: Readonly<Record<string, Tensor>>, options: RunOptions = {}): Promise<Record<string, Tensor>> {
    try {
      checkHooks(options, []);
    } catch (e) {
      return Promise.reject(e);
    }
    const job = this.queue.then(
      () => this.runNow(inputs, options),
      () => this.runNow(inputs, options),
    );
    this.queue = job.catch(() => undefined);
    return job;
  }

  private async runNow(
    inputs: Readonly<Record<string, Tensor>>,
    options: RunOptions,
  ): Promise<Record<string, Tensor>> {
    this.ensureLive();
    throwIfAborted(options.signal, `${this.label} run`);
    if (inputs === null || typeof inputs !== 'object') {
      throw new AudiogenError('INVALID_ARGUMENT', `${this.label}: inputs must be an object of named tensors`);
    }
    const si = this.signatureIndex(options.signature);
    const sig = this.sigs[si]!;
    const names = new Set(sig.inputs.map((t) => t.name));
    for (const k of Object.keys(inputs)) {
      if (!names.has(k)) {
        throw new AudiogenError(
          'INVALID_ARGUMENT',
          `${this.label}: unknown input '${k}' (inputs: ${[...names].join(', ')})`,
          { details: { input: k } },
        );
      }
    }
    const arrays: ArrayBufferView[] = [];
    const cur = sig.shapes;
    for (let k = 0; k < sig.inputs.length; k++) {
      const info = sig.inputs[k]!;
      const t = inputs[info.name];
      if (t === undefined) {
        throw new AudiogenError('MISSING_INPUT', `${this.label}: missing input '${info.name}'`, {
          details: { input: info.name },
        });
      }
      if (!t || typeof t !== 'object' || !Array.isArray(t.shape) || !ArrayBuffer.isView(t.data)) {
        throw new AudiogenError('INVALID_ARGUMENT', `${this.label}: input '${info.name}' is not a tensor`);
      }
      if (t.dtype !== info.dtype) {
        throw new AudiogenError(
          'INVALID_ARGUMENT',
          `${this.label}: input '${info.name}' must be ${info.dtype}, got ${t.dtype}`,
          { details: { input: info.name, expected: info.dtype, actual: t.dtype } },
        );
      }
      const n = storageLength(t.dtype, shapeSize(t.shape));
      if (
        (t.data as unknown as { length: number }).length !== n ||
        !(t.data instanceof typedArrayConstructor(t.dtype))
      ) {
        throw new AudiogenError(
          'INVALID_ARGUMENT',
          `${this.label}: input '${info.name}' data does not match its shape/dtype`,
        );
      }
      const want = cur[k]!;
      if (t.shape.length !== want.length || t.shape.some((d, j) => d !== want[j])) {
        if (sig.open[k]) this.resizeInput(info.name, t.shape, { signature: sig.key });
        else {
          throw new AudiogenError(
            'INVALID_ARGUMENT',
            `${this.label}: input '${info.name}' must have shape [${want.join(', ')}], got [${t.shape.join(', ')}]`,
            { details: { input: info.name, expected: want, actual: [...t.shape] } },
          );
        }
      }
      arrays.push(t.data);
    }
    const given = this.callerOutputs(sig, options.outputs);
    const onAbort = () => {
      try {
        this.handle.cancel();
      } catch {}
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let outs: NativeOutput[];
    try {
      outs = await this.handle.run(
        si,
        arrays,
        given ? sig.outputs.map((o) => given[o.name]?.data) : undefined,
      );
    } catch (e) {
      // the addon's size check of a caller-owned output (nothing was written)
      const err = e as NativeErrorProps;
      if (err.code === 'INVALID_ARGUMENT')
        throw new AudiogenError('INVALID_ARGUMENT', `${this.label}: ${err.op}`);
      throw nativeError(e, this.label);
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
    const result: Record<string, Tensor> = {};
    outs.forEach((o, k) => {
      const info = sig.outputs[k]!;
      const mine = given?.[info.name];
      if (mine && o.data === null) {
        if (mine.shape.length !== o.shape.length || mine.shape.some((d, j) => d !== o.shape[j])) {
          throw new AudiogenError(
            'INVALID_ARGUMENT',
            `${this.label}: output '${info.name}' has shape [${o.shape.join(', ')}], the given tensor [${mine.shape.join(', ')}]`,
          );
        }
        result[info.name] = mine;
        return;
      }
      if (o.data === null)
        throw new AudiogenError('INTERNAL', `${this.label}: output '${info.name}' is missing`);
      const dtype = elementTypeToDType(o.elementType) ?? info.dtype;
      const n = storageLength(dtype, shapeSize(o.shape));
      const data = new (typedArrayConstructor(dtype))(o.data, 0, n);
      result[info.name] = { dtype, shape: o.shape, data } as unknown as Tensor;
    });
    return result;
  }

  /** Checks run options' `outputs` (names, dtypes, typed arrays matching their shapes). */
  private callerOutputs(
    sig: { outputs: readonly TensorInfo[] },
    outputs: RunOptions['outputs'],
  ): Readonly<Record<string, Tensor>> | undefined {
    if (outputs === undefined) return undefined;
    if (outputs === null || typeof outputs !== 'object') {
      throw new AudiogenError(
        'INVALID_ARGUMENT',
        `${this.label}: outputs must be an object of named tensors`,
      );
    }
    for (const [name, t] of Object.entries(outputs)) {
      const info = sig.outputs.find((o) => o.name === name);
      if (!info) {
        throw new AudiogenError(
          'INVALID_ARGUMENT',
          `${this.label}: unknown output '${name}' (outputs: ${sig.outputs.map((o) => o.name).join(', ')})`,
        );
      }
      if (
        !t ||
        typeof t !== 'object' ||
        !Array.isArray(t.shape) ||
        t.dtype !== info.dtype ||
        !(t.data instanceof typedArrayConstructor(info.dtype)) ||
        (t.data as unknown as { length: number }).length !== storageLength(info.dtype, shapeSize(t.shape))
      ) {
        throw new AudiogenError(
          'INVALID_ARGUMENT',
          `${this.label}: output '${name}' must be a ${info.dtype} tensor whose data matches its shape`,
        );
      }
    }
    return outputs;
  }

  profileSummary(): Promise<string> {
    if (!this.profiled)
      return Promise.reject(
        new AudiogenError(
          'INVALID_ARGUMENT',
          `${this.label}: load the model with profile: true to profile it`,
        ),
      );
    // After the runs already queued: the profiler is read between runs, never during one.
    const job = this.queue.then(() => {
      this.ensureLive();
      try {
        return this.handle.profileSummary();
      } catch (e) {
        throw nativeError(e, this.label);
      }
    });
    this.queue = job.catch(() => undefined);
    return job;
  }

  dispose(): void {
    if (this.isDisposed)
      throw new AudiogenError('DISPOSED', `${this.label}: model has already been disposed`);
    this.isDisposed = true;
    try {
      this.handle.dispose();
    } catch (e) {
      throw nativeError(e, this.label);
    }
  }
}

let seenAdapter: string | undefined; // LiteRT logs the adapter once, when its WebGPU environment is made

/**
 * Compiles for the GPU alone (so a model the GPU cannot run whole is refused instead of split): the handle,
 * or why not. Never throws for a GPU refusal; the caller decides between an error and the CPU.
 */
async function loadOnGpu(
  addon: NativeAddon,
  spec: Parameters<NativeAddon['load']>[0],
  libraryDir: string | undefined,
  addonPath: string,
  precision: GpuPrecision,
  severity: number,
): Promise<
  | { handle: NativeModelHandle; adapter?: string }
  | {
      reason: GpuRefusal;
      why: string;
      ops: { op: string; reason: string }[];
      details?: Record<string, unknown>;
    }
> {
  const lib = findGpuLibrary(libraryDir, addonPath);
  if (!('found' in lib)) {
    const name = GPU_LIBRARY[process.platform];
    return {
      reason: 'library-missing',
      ops: [],
      why: name
        ? `LiteRT's GPU accelerator library ${name} is not installed (install ${GPU_PACKAGE}, or set gpuLibraryDir / AUDIOGEN_LITERT_GPU_DIR; searched: ${lib.searched.join(', ') || 'nothing'})`
        : `no LiteRT GPU accelerator for ${process.platform}`,
      details: { searched: lib.searched },
    };
  }
  const dropStderr = [...(spec.dropStderr ?? []), ...gpuDroppedLogPrefixes(severity)];
  let handle: NativeModelHandle;
  try {
    handle = await addon.load({
      ...spec,
      dropStderr,
      accelerators: HW_GPU,
      gpuDir: lib.found.dir,
      gpuToml: gpuToml(precision),
    });
  } catch (e) {
    const err = e as NativeErrorProps & { message?: string };
    if (err.litertStatus === undefined) throw e;
    const log = [err.loadLog, err.litertStderr, err.litertMessages].filter(Boolean).join('\n');
    seenAdapter = adapterFromLog(log) ?? seenAdapter; // the first GPU compile logs it, even one that fails
    const c = classifyGpuFailure(log);
    const status = err.litertStatus;
    return {
      ...c,
      why: `${c.why} (LiteRT ${err.op ?? 'call'} failed with status ${status}${STATUS_NAMES[status] ? `, ${STATUS_NAMES[status]}` : ''})`,
      details: {
        library: lib.found.file,
        litert: litertDetails(err),
        log: litertMessageLines(log, 'stderr'),
      },
    };
  }
  seenAdapter = adapterFromLog(handle.loadLog ?? '') ?? seenAdapter;
  if (handle.fullyAccelerated === false) {
    const c = classifyGpuFailure(handle.loadLog ?? '');
    handle.dispose();
    return {
      ...c,
      reason: 'unsupported-ops',
      why: `${c.why}; LiteRT reports the model is not fully accelerated`,
    };
  }
  return { handle, adapter: seenAdapter };
}

/** The official LiteRT runtime (CompiledModel API, XNNPACK on the CPU) behind core's `Runtime`. */
export interface NativeRuntime extends Runtime {
  load(source: string | Uint8Array, options?: LoadOptions): Promise<NativeModel>;
}

/**
 * Makes the private copy the fused model: its tables written past the end, then the root offset (the
 * first four bytes) pointed at them. The constants stay where they are and nothing else changes.
 */
function appendToCopy(fd: number, a: SnakeAppendix, label: string): void {
  const root = new Uint8Array(4);
  new DataView(root.buffer).setUint32(0, a.root, true);
  for (const [bytes, at] of [
    [a.bytes, a.at],
    [root, 0],
  ] as const) {
    let done = 0;
    try {
      while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, at + done);
    } catch (e) {
      throw new AudiogenError(
        'IO_ERROR',
        `${label}: cannot write the fused model's tables to its copy: ${(e as Error).message}`,
        { cause: e },
      );
    }
  }
}

function memfdCopy(addon: NativeAddon, path: string): { fd: number; path: string } | null {
  try {
    return addon.copyToMemfd(path);
  } catch (e) {
    throw new AudiogenError('IO_ERROR', `cannot copy the model file ${path}: ${(e as Error).message}`, {
      cause: e,
      details: { path },
    });
  }
}

export function createNativeRuntime(options: NativeRuntimeOptions = {}): NativeRuntime {
  if (options.threads !== undefined) checkInt('threads', options.threads, 1, 256);
  const level = options.logLevel ?? 'error';
  if (!(level in SEVERITY))
    throw new AudiogenError('INVALID_ARGUMENT', `unknown logLevel '${String(level)}'`);
  for (const k of ['captureStderr', 'echoLiteRtErrors'] as const) optionalBoolean(k, options[k], true);
  const modelFiles = options.modelFiles ?? 'copy';
  const release = optionalBoolean('releasePackedWeights', options.releasePackedWeights, true);
  const fuse = optionalBoolean('fuseSnake', options.fuseSnake, true);
  if (modelFiles !== 'copy' && modelFiles !== 'map')
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `modelFiles must be 'copy' or 'map', got ${String(modelFiles)}`,
    );
  return {
    name: 'litert-native',
    get host() {
      return hostCpu();
    },
    async load(source: string | Uint8Array, loadOptions: LoadOptions = {}): Promise<NativeModel> {
      const cpu = cpuOptionsFor(loadOptions, options.threads);
      const requested = checkAccelerator(loadOptions.accelerator);
      const fuseThis = optionalBoolean('fuseSnake', loadOptions.fuseSnake, fuse);
      const profile = optionalBoolean('profile', loadOptions.profile, false);
      const precision = checkGpuPrecision(loadOptions.gpuPrecision);
      let scan: TfliteScan;
      let label = loadOptions.label ?? 'model';
      let fusedSnakes = 0;
      const { addon, path: addonPath } = loadAddon();
      let from: { path: string; memfd?: number; release?: number[] } | { bytes: Uint8Array };
      if (typeof source === 'string') {
        label = loadOptions.label ?? source;
        const size = await statInputFile(source, { what: 'model file', maxBytes: Number.MAX_SAFE_INTEGER });
        const copy = modelFiles === 'copy' ? memfdCopy(addon, source) : null;
        if (copy) {
          // Linux: a private in-kernel copy (memfd) that LiteRT maps through its file loader (which checks
          // the flatbuffer); what we verify at copy.path is what LiteRT loads, whatever happens to the file.
          try {
            scan = verifyModelFile(copy.path);
            const appendix =
              fuseThis && requested === 'cpu' ? scan.snakeAppendix?.(fstatSync(copy.fd).size) : null;
            if (appendix) {
              appendToCopy(copy.fd, appendix, label);
              scan = verifyModelFile(copy.path); // what LiteRT will load, checked again
              fusedSnakes = appendix.fused;
            }
          } catch (e) {
            addon.closeFd(copy.fd);
            throw e;
          }
          from = { path: copy.path, memfd: copy.fd, ...(release ? { release: scan.packedWeights } : {}) };
        } else if (modelFiles === 'copy' && size <= MAX_INPUT_BYTES) {
          // One read into the block LiteRT keeps using: the bytes verified are the bytes run, and a
          // later change to the file cannot reach the loaded model. With Snakes to fuse, the block has
          // room for the fused tables after the file (sized from the file's tables, read first).
          const appendix =
            fuseThis && requested === 'cpu' ? verifyModelFile(source).snakeAppendix?.(size) : null;
          let block: ArrayBuffer | undefined;
          const read = await readInputFile(source, {
            what: 'model file',
            alloc: (n) => {
              block = addon.allocModelBuffer(
                appendix && n === size ? appendix.at + appendix.bytes.length : n,
              );
              return new Uint8Array(block, 0, n);
            },
          });
          let bytes = read;
          if (appendix && block && read.length === size) {
            bytes = new Uint8Array(block);
            bytes.set(appendix.bytes, appendix.at);
            new DataView(block).setUint32(0, appendix.root, true);
            fusedSnakes = appendix.fused;
          }
          scan = verifyModelBytes(bytes);
          from = { bytes };
        } else {
          // Verified (tables only, never the weights) before LiteRT sees it; LiteRT then maps the file.
          scan = verifyModelFile(source);
          from = { path: source };
        }
      } else if (source instanceof Uint8Array) {
        scan = verifyModelBytes(source);
        from = { bytes: source };
      } else {
        throw new AudiogenError('INVALID_ARGUMENT', 'load() expects a file path or a Uint8Array');
      }
      const spec = {
        ...from,
        toml: cpu.toml,
        logSeverity: SEVERITY[level],
        dropStderr: droppedLogPrefixes(level),
        captureStderr: options.captureStderr ?? true,
        echoErrors: options.echoLiteRtErrors ?? true,
        ...(fusedSnakes > 0 ? { snakeThreads: cpu.threads } : {}),
        ...(profile ? { profile } : {}),
      };
      // The fused op is ours (registered above), not one the file declares: errors and `customOps` leave it out.
      if (fusedSnakes > 0)
        scan.customOps = scan.customOps.filter((op) => op !== SNAKE_OP && op !== ADD_SNAKE_OP);
      let placement: Placement = { requested, accelerator: 'cpu' };
      let handle: NativeModelHandle | undefined;
      if (requested !== 'cpu') {
        const gpu = await loadOnGpu(
          addon,
          spec,
          options.gpuLibraryDir,
          addonPath,
          precision,
          SEVERITY[level],
        );
        if ('handle' in gpu) {
          handle = gpu.handle;
          placement = {
            requested,
            accelerator: 'gpu',
            precision,
            adapter: gpu.adapter,
            fullyAccelerated: true,
          };
        } else {
          const message = `${label}: the GPU cannot run this model: ${gpu.why}`;
          const details = { label, accelerator: 'gpu', reason: gpu.reason, ops: gpu.ops, ...gpu.details };
          if (requested === 'gpu') throw new AudiogenError('ACCELERATOR_UNAVAILABLE', message, { details });
          placement = {
            requested,
            accelerator: 'cpu',
            fallback: { reason: gpu.reason, message: gpu.why, ...(gpu.ops.length ? { ops: gpu.ops } : {}) },
          };
          const warning: AcceleratorWarning = {
            code: 'GPU_FALLBACK',
            label,
            reason: gpu.reason,
            message: `${message}; running it on the CPU`,
            ...(gpu.ops.length ? { ops: gpu.ops } : {}),
          };
          if (options.onWarning) options.onWarning(warning);
          else process.emitWarning(warning.message, { code: 'AUDIOGEN_GPU_FALLBACK' });
        }
      }
      if (!handle) {
        try {
          handle = await addon.load(spec);
        } catch (e) {
          const err = nativeError(e, label, scan, 'load'); // may read scale tensors from the copy
          // A loaded model owns its memfd; a failed load leaves it here.
          if ('memfd' in from && from.memfd !== undefined) addon.closeFd(from.memfd);
          throw err;
        }
      }
      try {
        const model = new LiteRtModel(handle, label, cpu, scan, fusedSnakes);
        model.placement = placement;
        model.profiled = profile;
        return model;
      } catch (e) {
        handle.dispose();
        throw e;
      }
    },
  };
}
