import { AudiogenError, isAudiogenError, readInputFile, readNpy, readNpz, type Tensor } from '@audiogen/core';

/** Runs fn; a typed error gets `<flag> <file>: ` in front (and the path in details) unless it names the file. */
export async function namingFile<T>(flag: string, path: string, fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (!isAudiogenError(e)) throw e;
    const message = e.message.includes(path) ? e.message : `${path}: ${e.message}`;
    throw new AudiogenError(e.code, `${flag} ${message}`, { cause: e, details: { ...e.details, path } });
  }
}

// Through core's input reader: a FIFO or device is refused, the size is known before reading.
function bytesOf(flag: string, path: string): Promise<Uint8Array> {
  return namingFile(flag, path, () => readInputFile(path, { what: 'file' }));
}

/** Reads a .npy file; every error (INVALID_NPY included) names the flag and the file. */
export async function readNpyFile(flag: string, path: string): Promise<Tensor> {
  const bytes = await bytesOf(flag, path);
  return namingFile(flag, path, () => readNpy(bytes));
}

/** Reads a .npz file; every error names the flag and the file. */
export async function readNpzFile(flag: string, path: string): Promise<Record<string, Tensor>> {
  const bytes = await bytesOf(flag, path);
  return namingFile(flag, path, () => readNpz(bytes));
}
