import { constants as bufferConstants } from 'node:buffer';
import { closeSync, constants, promises as fs, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { AudiogenError, type AudiogenErrorCode } from './errors';

/**
 * The one way the SDK opens a file it reads (models, checkpoints, WAV, .npy, tokenizers, configs,
 * recipes, ONNX): only regular files are read (a FIFO, device, socket or directory is refused before
 * anything blocks or streams forever), the size is known and checked before any byte is read, and
 * every failure is an AudiogenError naming the path.
 */
export interface InputFileOptions {
  /** What the file is, for messages ("model file", "WAV file", "spiece.model"). */
  what?: string;
  /** Largest size accepted in bytes (default: what one buffer can hold). */
  maxBytes?: number;
  /** Code of the error for a file over maxBytes (default INVALID_ARGUMENT). */
  tooLargeCode?: AudiogenErrorCode;
}

export interface ReadInputOptions extends InputFileOptions {
  /** Allocates the buffer the file is read into (default: an uninitialised Buffer). */
  alloc?: (size: number) => Uint8Array;
}

// O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer. No effect on regular files.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/** Largest file readable into one buffer on this Node (4 GiB on Node 20). */
export const MAX_INPUT_BYTES: number = bufferConstants.MAX_LENGTH;

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Maps a failed open/stat/read of an input to a typed error naming the path. */
export function inputFileError(e: unknown, path: string, what = 'input file'): AudiogenError {
  if (e instanceof AudiogenError) return e;
  const code = (e as NodeJS.ErrnoException)?.code;
  const why = e instanceof Error ? e.message : String(e);
  const details = { path, errno: code };
  if (code === 'ENOENT' || code === 'ENOTDIR')
    return new AudiogenError('MISSING_FILE', `${what} not found: ${path}`, { cause: e, details });
  if (code === 'EISDIR')
    return new AudiogenError('INVALID_ARGUMENT', `${what} ${path} is a directory, not a file`, {
      cause: e,
      details,
    });
  if (
    code === 'ELOOP' ||
    code === 'ENAMETOOLONG' ||
    code === 'ERR_INVALID_ARG_TYPE' ||
    code === 'ERR_INVALID_ARG_VALUE'
  )
    return new AudiogenError('INVALID_ARGUMENT', `${what} path ${JSON.stringify(path)} is unusable: ${why}`, {
      cause: e,
      details,
    });
  return new AudiogenError('IO_ERROR', `cannot read ${what} ${path}: ${why}`, { cause: e, details });
}

/** Refuses a non-regular file or one over the size limit; returns the size. */
export function checkInputStats(st: Stats, path: string, options: InputFileOptions = {}): number {
  const what = options.what ?? 'input file';
  if (!st.isFile()) {
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `${what} ${path} is ${kindOf(st)}; only regular files are read`,
      { details: { path } },
    );
  }
  const max = Math.min(options.maxBytes ?? MAX_INPUT_BYTES, Number.MAX_SAFE_INTEGER);
  if (st.size > max) {
    throw new AudiogenError(
      options.tooLargeCode ?? 'INVALID_ARGUMENT',
      `${what} ${path} has ${st.size} bytes, more than the ${max} accepted`,
      { details: { path, size: st.size, maxBytes: max } },
    );
  }
  return st.size;
}

/** Checks (without reading) that path is a regular file within the limit; returns its size. */
export async function statInputFile(path: string, options: InputFileOptions = {}): Promise<number> {
  try {
    return checkInputStats(await fs.stat(path), path, options);
  } catch (e) {
    throw inputFileError(e, path, options.what);
  }
}

/** Opens a regular input file (see InputFileOptions); the caller closes `fd`. */
export function openInputFileSync(
  path: string,
  options: InputFileOptions = {},
): { fd: number; size: number } {
  let fd: number;
  try {
    if (typeof path !== 'string')
      throw Object.assign(new TypeError('path must be a string'), { code: 'ERR_INVALID_ARG_TYPE' });
    fd = openSync(path, OPEN_FLAGS);
  } catch (e) {
    throw inputFileError(e, path, options.what);
  }
  try {
    return { fd, size: checkInputStats(fstatSync(fd), path, options) };
  } catch (e) {
    closeSync(fd);
    throw inputFileError(e, path, options.what);
  }
}

function changed(path: string, what: string, got: number, size: number): AudiogenError {
  return new AudiogenError(
    'IO_ERROR',
    `${what} ${path} changed while it was read (${got} of ${size} bytes, then the end)`,
    { details: { path, size, read: got } },
  );
}

/** Reads a whole regular input file; its size is checked before reading. */
export function readInputFileSync(path: string, options: ReadInputOptions = {}): Uint8Array {
  const what = options.what ?? 'input file';
  const { fd, size } = openInputFileSync(path, options);
  try {
    const out = options.alloc ? options.alloc(size) : Buffer.allocUnsafeSlow(size);
    let got = 0;
    while (got < size) {
      const n = readSync(fd, out, got, Math.min(size - got, 1 << 30), got);
      if (n <= 0) throw changed(path, what, got, size);
      got += n;
    }
    return out;
  } catch (e) {
    throw inputFileError(e, path, what);
  } finally {
    closeSync(fd);
  }
}

/** Async readInputFileSync: the size is known before a byte is read; never blocks on a FIFO. */
export async function readInputFile(path: string, options: ReadInputOptions = {}): Promise<Uint8Array> {
  const what = options.what ?? 'input file';
  let h: fs.FileHandle;
  try {
    if (typeof path !== 'string')
      throw Object.assign(new TypeError('path must be a string'), { code: 'ERR_INVALID_ARG_TYPE' });
    h = await fs.open(path, OPEN_FLAGS);
  } catch (e) {
    throw inputFileError(e, path, what);
  }
  try {
    const size = checkInputStats(await h.stat(), path, options);
    const out = options.alloc ? options.alloc(size) : Buffer.allocUnsafeSlow(size);
    let got = 0;
    while (got < size) {
      const { bytesRead } = await h.read(out, got, Math.min(size - got, 1 << 30), got);
      if (bytesRead <= 0) throw changed(path, what, got, size);
      got += bytesRead;
    }
    return out;
  } catch (e) {
    throw inputFileError(e, path, what);
  } finally {
    await h.close().catch(() => {});
  }
}

/** Default cap for text inputs (JSON configs, recipes, manifests). */
export const MAX_TEXT_INPUT_BYTES = 64 * 1024 * 1024;

/** Reads a UTF-8 text input (at most 64 MiB unless maxBytes says otherwise). */
export async function readInputText(path: string, options: InputFileOptions = {}): Promise<string> {
  const bytes = await readInputFile(path, { maxBytes: MAX_TEXT_INPUT_BYTES, ...options });
  return new TextDecoder().decode(bytes);
}

/** Sync readInputText. */
export function readInputTextSync(path: string, options: InputFileOptions = {}): string {
  return new TextDecoder().decode(readInputFileSync(path, { maxBytes: MAX_TEXT_INPUT_BYTES, ...options }));
}

/** Parses JSON text; a syntax error becomes `code` (naming `source`). */
export function parseJsonInput(text: string, source: string, code: AudiogenErrorCode): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new AudiogenError(code, `${source} is not valid JSON: ${(e as Error).message}`, {
      cause: e,
      details: { path: source },
    });
  }
}

/** Reads and parses a JSON input file; unreadable → typed IO errors, malformed → `code`. */
export async function readInputJson(
  path: string,
  code: AudiogenErrorCode,
  options: InputFileOptions = {},
): Promise<unknown> {
  return parseJsonInput(await readInputText(path, options), path, code);
}

/** Sync readInputJson. */
export function readInputJsonSync(
  path: string,
  code: AudiogenErrorCode,
  options: InputFileOptions = {},
): unknown {
  return parseJsonInput(readInputTextSync(path, options), path, code);
}
