import { readFile } from 'node:fs/promises';
import { AudiogenError, isAudiogenError, readNpy, readNpz, type Tensor } from '@audiogen/core';

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

async function bytesOf(flag: string, path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new AudiogenError(
      missing ? 'MISSING_FILE' : 'IO_ERROR',
      `${flag} ${path}: ${missing ? 'no such file' : (e as Error).message}`,
      { cause: e, details: { path } },
    );
  }
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
