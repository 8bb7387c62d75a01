import { readFile } from 'node:fs/promises';
import { AudiogenError } from '@audiogen/core';
import type { Graph } from './graph';
import { readTflite, type VerifyTfliteOptions } from './read';

/** Reads and verifies a .tflite file (the whole file is loaded once; data are views into it). */
export async function readTfliteFile(path: string, options: VerifyTfliteOptions = {}): Promise<Graph> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new AudiogenError('MISSING_FILE', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  return readTflite(bytes, options);
}
