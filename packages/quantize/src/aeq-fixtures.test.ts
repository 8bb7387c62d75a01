/**
 * CI-sized conformance: our output for the committed float models equals AI Edge Quantizer's output
 * (fixtures/aeq/*.aeq.tflite, made by scripts/conformance.run.ts with ai-edge-quantizer 0.10.0)
 * tensor by tensor: type, shape, constant bytes, scales, zero points, quantized dimension,
 * blockwise scale tensors, and the operator sequence.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Graph, type GraphTensor, readTflite, writeTflite } from '@audiogen/core/tflite';
import { describe, expect, it } from 'vitest';
import { quantizeModel } from './model';
import { TEST_MODELS } from './test-models';

const dir = new URL('../fixtures/aeq/', import.meta.url).pathname;
const available = existsSync(dir) ? readdirSync(dir) : [];
const recipes = available
  .filter((f) => f.endsWith('.recipe.json'))
  .map((f) => f.replace(/\.recipe\.json$/, ''));

function f32hex(a: readonly number[] | undefined): string | undefined {
  return a ? Buffer.from(Float32Array.from(a).buffer).toString('hex') : undefined;
}

function describeTensor(g: Graph, t: GraphTensor): Record<string, unknown> {
  const q = t.quantization;
  const d = q?.details;
  const sg = g.subgraphs[0]!;
  return {
    type: t.type,
    shape: t.shape,
    data: t.data ? Buffer.from(t.data).toString('hex') : undefined,
    scale: f32hex(q?.scale),
    zero_point: q?.zero_point,
    quantized_dimension: q && (q.scale?.length || d) ? (q.quantized_dimension ?? 0) : undefined,
    details:
      d?.type === 'BlockwiseQuantization'
        ? {
            block_size: d.block_size,
            zero_points: d.zero_points,
            scales: describeTensor(g, sg.tensors[d.scales]!),
            scales_name: sg.tensors[d.scales]!.name,
          }
        : undefined,
  };
}

function byName(g: Graph) {
  return new Map(g.subgraphs[0]!.tensors.map((t) => [t.name, describeTensor(g, t)]));
}

function opSequence(g: Graph) {
  const sg = g.subgraphs[0]!;
  const n = (i: number) => (i < 0 ? '-' : sg.tensors[i]!.name);
  return sg.operators.map((o) => `${o.op}(${o.inputs.map(n).join(',')})->${o.outputs.map(n).join(',')}`);
}

const coreFixtures = new URL('../../core/fixtures/', import.meta.url).pathname;

/** Quantizes `floatBytes` with the recipe and compares every tensor and the op sequence with AEQ's file. */
function expectSameAsAeq(floatBytes: Uint8Array, recipe: string, aeqPath: string): void {
  const json = JSON.parse(readFileSync(join(dir, `${recipe}.recipe.json`), 'utf8'));
  const ours = readTflite(quantizeModel(floatBytes, json).model);
  const aeq = readTflite(new Uint8Array(readFileSync(aeqPath)));
  const a = byName(aeq);
  const o = byName(ours);
  expect([...o.keys()].sort()).toEqual([...a.keys()].sort());
  for (const [name, want] of a) expect({ name, ...o.get(name) }).toEqual({ name, ...want });
  expect(opSequence(ours)).toEqual(opSequence(aeq));
}

describe.skipIf(!recipes.length)('bit-identical to AI Edge Quantizer on core litert-torch fixtures', () => {
  for (const model of ['mlp', 'conv1d', 'attention']) {
    for (const recipe of recipes) {
      const aeqPath = join(dir, `core_${model}.${recipe}.aeq.tflite`);
      it.skipIf(!existsSync(aeqPath) || !existsSync(join(coreFixtures, `${model}.tflite`)))(
        `core ${model} × ${recipe}`,
        () => {
          const floatBytes = new Uint8Array(readFileSync(join(coreFixtures, `${model}.tflite`)));
          expectSameAsAeq(floatBytes, recipe, aeqPath);
        },
      );
    }
  }
});

describe.skipIf(!recipes.length)('bit-identical to AI Edge Quantizer (committed outputs)', () => {
  for (const model of Object.keys(TEST_MODELS)) {
    for (const recipe of recipes) {
      const aeqPath = join(dir, `${model}.${recipe}.aeq.tflite`);
      it.skipIf(!existsSync(aeqPath))(`${model} × ${recipe}`, () => {
        const floatBytes = new Uint8Array(readFileSync(join(dir, `${model}.tflite`)));
        // The committed float model is what our test-model builder writes today.
        expect(Buffer.from(writeTflite(TEST_MODELS[model]!())).equals(Buffer.from(floatBytes))).toBe(true);
        expectSameAsAeq(floatBytes, recipe, aeqPath);
      });
    }
  }
});
