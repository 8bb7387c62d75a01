// Test-only helpers (not exported from the package): run .tflite files in the official LiteRT
// Python runtime (ai-edge-litert in the repo's .venv, made by scripts/setup-dev.sh).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const PYTHON = `${REPO_ROOT}.venv/bin/python`;
export const RUNNER = fileURLToPath(new URL('../../scripts/litert_run.py', import.meta.url));
export const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));

export type RunInput = { npy: string } | { dtype: string; shape: number[]; data: ArrayBufferView };

export interface RunOutput {
  name: string;
  dtype: string;
  shape: number[];
  data: Uint8Array;
}

export interface RunResult {
  outputs: RunOutput[];
  max_abs_diff?: number[];
}

/** Runs a model file in LiteRT (Interpreter API with 1 thread, or the CompiledModel API). */
export function runLitert(
  model: string,
  inputs: RunInput[],
  expected?: string[],
  api: 'interpreter' | 'compiled' = 'interpreter',
): RunResult {
  const req = {
    api,
    model,
    inputs: inputs.map((x) =>
      'npy' in x
        ? x
        : {
            dtype: x.dtype,
            shape: x.shape,
            b64: Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength).toString('base64'),
          },
    ),
    ...(expected ? { expected } : {}),
  };
  const out = execFileSync(PYTHON, [RUNNER], {
    input: JSON.stringify(req),
    maxBuffer: 1 << 28,
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const res = JSON.parse(out.toString()) as {
    outputs: { name: string; dtype: string; shape: number[]; b64: string }[];
    max_abs_diff?: number[];
  };
  return {
    outputs: res.outputs.map((o) => ({ ...o, data: new Uint8Array(Buffer.from(o.b64, 'base64')) })),
    max_abs_diff: res.max_abs_diff,
  };
}

export function asFloat32(o: RunOutput): Float32Array {
  const copy = o.data.slice();
  return new Float32Array(copy.buffer, 0, copy.length / 4);
}

export function f32bytes(xs: ArrayLike<number>): Uint8Array {
  return new Uint8Array(Float32Array.from(xs).buffer);
}

export function i32bytes(xs: ArrayLike<number>): Uint8Array {
  return new Uint8Array(Int32Array.from(xs).buffer);
}

export { randomFloats } from '../test';
