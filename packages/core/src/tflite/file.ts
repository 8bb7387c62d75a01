import { readInputFile } from '@audiogen/core';
import type { Graph } from './graph';
import { readTflite, type VerifyTfliteOptions } from './read';

/** Reads and verifies a .tflite file (the whole file is loaded once; data are views into it). */
export async function readTfliteFile(path: string, options: VerifyTfliteOptions = {}): Promise<Graph> {
  return readTflite(await readInputFile(path, { what: '.tflite file' }), options);
}
