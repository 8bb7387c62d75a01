/**
 * Stable error codes. Apps may switch on these; never rename one, only add.
 */
export type AudiogenErrorCode =
  | 'INVALID_ARGUMENT'
  | 'INVALID_MODEL'
  | 'INVALID_TFLITE'
  | 'INVALID_WAV'
  | 'INVALID_NPY'
  | 'INVALID_CHECKPOINT'
  | 'INVALID_ONNX'
  | 'INVALID_RECIPE'
  | 'INVALID_TOKENIZER'
  | 'UNSUPPORTED'
  | 'UNSUPPORTED_OPS'
  | 'MODEL_MISMATCH'
  | 'MISSING_FILE'
  | 'MISSING_INPUT'
  | 'NOT_FOUND'
  | 'DISPOSED'
  | 'ABORTED'
  | 'RUNTIME_ERROR'
  | 'ENGINE_UNAVAILABLE'
  | 'ACCELERATOR_UNAVAILABLE'
  | 'NON_FINITE_AUDIO'
  | 'OUT_OF_MEMORY'
  | 'IO_ERROR'
  | 'INTERNAL'
  // Remote sources (the Hugging Face Hub and its cache).
  /** No connection to the server, a timeout, or a server error that retries did not get past. */
  | 'NETWORK_ERROR'
  /** A gated repository whose licence the user has not accepted (or no token was sent). */
  | 'GATED_REPO'
  /** The server rejected the access token. */
  | 'INVALID_TOKEN'
  /** Offline mode, and the file is not in the local cache. */
  | 'NOT_CACHED'
  /** Downloaded bytes do not hash to the checksum the server published. */
  | 'CHECKSUM_MISMATCH'
  /** Not enough free disk space for the data about to be written. */
  | 'DISK_FULL'
  /** Another process holds the lock on a resource this one needs. */
  | 'BUSY';

export interface AudiogenErrorOptions {
  cause?: unknown;
  /** Machine-readable facts about the failure (file path, tensor name, expected/actual shape…). */
  details?: Record<string, unknown>;
}

export class AudiogenError extends Error {
  readonly code: AudiogenErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: AudiogenErrorCode, message: string, options: AudiogenErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AudiogenError';
    this.code = code;
    this.details = options.details ?? {};
  }
}

export function isAudiogenError(e: unknown, code?: AudiogenErrorCode): e is AudiogenError {
  return e instanceof AudiogenError && (code === undefined || e.code === code);
}

/**
 * Checks what a call takes besides its data, before any work: `signal` must be an AbortSignal and each
 * named callback a function (else INVALID_ARGUMENT naming it, instead of a TypeError deep in the work).
 */
export function checkHooks(options: object | undefined, callbacks: readonly string[] = ['onProgress']): void {
  if (options === undefined || options === null) return;
  const o = options as Record<string, unknown>;
  const signal = o.signal;
  if (signal !== undefined && !(typeof AbortSignal !== 'undefined' && signal instanceof AbortSignal)) {
    const s = signal as { aborted?: unknown; addEventListener?: unknown } | null;
    // Another realm's AbortSignal (or a polyfill) has the same shape.
    if (
      !(
        s &&
        typeof s === 'object' &&
        typeof s.aborted === 'boolean' &&
        typeof s.addEventListener === 'function'
      )
    )
      throw new AudiogenError('INVALID_ARGUMENT', `signal must be an AbortSignal, got ${describe(signal)}`);
  }
  for (const name of callbacks) {
    const f = o[name];
    if (f !== undefined && typeof f !== 'function')
      throw new AudiogenError('INVALID_ARGUMENT', `${name} must be a function, got ${describe(f)}`);
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v).slice(0, 40)}`;
}

/** Throws ABORTED if the signal has fired. Call between steps, never inside a native run. */
export function throwIfAborted(signal: AbortSignal | undefined, what = 'operation'): void {
  if (signal?.aborted) {
    throw new AudiogenError('ABORTED', `${what} was aborted`, { cause: signal.reason });
  }
}

/** Wraps any non-Audiogen error thrown by fn in an AudiogenError of the given code. */
export function wrapErrors<T>(code: AudiogenErrorCode, message: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof AudiogenError) throw e;
    throw new AudiogenError(code, `${message}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}
