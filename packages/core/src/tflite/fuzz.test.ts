import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AudiogenError } from '../errors';
import { fuzz, rng } from './fuzz';
import { readTflite, verifyTflite } from './read';
import { FIXTURES } from './testing';
import { writeTflite } from './write';

const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 3000);
const SEED = Number(process.env.FUZZ_SEED ?? 1);

function corpus(): Uint8Array[] {
  const files = ['mlp', 'conv1d', 'attention', 'attention_int8', 'attention_int4_block32'].map(
    (n) => new Uint8Array(readFileSync(join(FIXTURES, `${n}.tflite`))),
  );
  // Writer outputs too (inline and offset/size layouts).
  const small = writeTflite({
    version: 3,
    description: 'fuzz',
    subgraphs: [
      {
        name: 'main',
        tensors: [
          { name: 'x', type: 'FLOAT32', shape: [2, 3] },
          { name: 'w', type: 'FLOAT32', shape: [4, 3], data: new Uint8Array(48).fill(1) },
          {
            name: 'y',
            type: 'FLOAT32',
            shape: [2, 4],
            quantization: { scale: [0.5], zero_point: [0], quantized_dimension: 0 },
          },
        ],
        inputs: [0],
        outputs: [2],
        operators: [
          {
            op: 'FULLY_CONNECTED',
            builtin_code: 9,
            version: 1,
            inputs: [0, 1, -1],
            outputs: [2],
            options: { type: 'FullyConnectedOptions' },
          },
        ],
      },
    ],
    signatures: [
      {
        signature_key: 'serving_default',
        subgraph_index: 0,
        inputs: [{ name: 'x', tensor_index: 0 }],
        outputs: [{ name: 'y', tensor_index: 2 }],
      },
    ],
    metadata: [{ name: 'min_runtime_version', data: new TextEncoder().encode('1.5.0') }],
  });
  return [...files, small, writeTflite(readTflite(files[0]!), { bufferOffsets: true })];
}

describe('fuzz: mutated .tflite files only ever raise AudiogenError', () => {
  it(`${ITERATIONS} mutations (byte flips, truncation, offset corruption, length inflation, splices)`, () => {
    const c = corpus();
    for (const b of c) verifyTflite(b);
    const t0 = performance.now();
    const stats = fuzz(c, ITERATIONS, SEED);
    const ms = performance.now() - t0;
    if (process.env.FUZZ_ITERATIONS) console.log(JSON.stringify({ ...stats, totalMs: Math.round(ms) }));
    expect(stats.accepted + stats.rejected).toBe(ITERATIONS);
    // Most mutations must be caught; a hang would show up as a slow iteration.
    expect(stats.rejected).toBeGreaterThan(ITERATIONS * 0.3);
    expect(stats.slowestMs).toBeLessThan(2000);
  });

  it('random bytes are rejected with INVALID_TFLITE', () => {
    const r = rng(7);
    for (let i = 0; i < 500; i++) {
      const b = Uint8Array.from({ length: Math.floor(r() * 256) }, () => Math.floor(r() * 256));
      if (i % 2 && b.length >= 8) b.set([0x54, 0x46, 0x4c, 0x33], 4);
      expect(() => verifyTflite(b)).toThrow(AudiogenError);
    }
  });
});
