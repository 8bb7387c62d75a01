/** Test helpers: .npy files (core's reader/writer) and a LiteRT runner through the repo's Python venv. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readNpy as readNpyBytes, type Tensor, tensor, writeNpy as writeNpyBytes } from '@audiogen/core';

const here = dirname(fileURLToPath(import.meta.url));

/** Reads a .npy file with core's validated reader. */
export function readNpy(path: string): Tensor {
  return readNpyBytes(readFileSync(path));
}

/** Writes a float32 or int64 array as .npy with core's writer. */
export function writeNpy(path: string, data: Float32Array | BigInt64Array, shape: number[]): void {
  const t = data instanceof Float32Array ? tensor('float32', shape, data) : tensor('int64', shape, data);
  writeFileSync(path, writeNpyBytes(t));
}

/** The repo's Python with ai-edge-litert (.venv from scripts/setup-dev.sh), if present. */
export function litertPython(): string | undefined {
  const root = resolve(here, '..', '..', '..');
  const p = join(root, '.venv', 'bin', 'python');
  return existsSync(p) ? p : undefined;
}

/** Runs a .tflite file's serving_default signature with LiteRT; returns its outputs by name. */
export function runLitert(
  python: string,
  model: string,
  inputs: Record<string, string>,
): Record<string, Tensor> {
  const out = mkdtempSync(join(tmpdir(), 'audiogen-convert-run-'));
  const script = resolve(here, '..', 'scripts', 'run_tflite.py');
  const args = [script, model, out, ...Object.entries(inputs).map(([k, v]) => `${k}=${v}`)];
  try {
    const r = spawnSync(python, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`LiteRT run failed: ${r.stderr}`);
    const names = readdirSync(out);
    return Object.fromEntries(names.map((n) => [n.replace(/\.npy$/, ''), readNpy(join(out, n))]));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

export { cosine, maxAbsDiff } from '@audiogen/core/test';
