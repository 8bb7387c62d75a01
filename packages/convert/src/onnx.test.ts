import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAudiogenError } from '@audiogen/core';
import { writeTfliteFile } from '@audiogen/core/tflite';
import onnxProto from 'onnx-proto';
import { afterAll, describe, expect, it } from 'vitest';
import { opReport } from './builder';
import { convertOnnx, convertOnnxFile } from './onnx';
import { cosine, litertPython, maxAbsDiff, readNpy, runLitert } from './testing';

const here = dirname(fileURLToPath(import.meta.url));
const dir = join(here, '..', 'fixtures', 'onnx');
const tmp = mkdtempSync(join(tmpdir(), 'audiogen-onnx-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const py = litertPython();

// Fixtures: tiny reference modules exported by scripts/make_onnx_fixtures.py with torch.onnx.export;
// *_out.npy is onnxruntime's output on *_in_*.npy.
const models = [
  'mlp',
  'mlp_opset13_external',
  'mlp_opset20',
  'einsum',
  'mask_pool',
  'convnet',
  'dit_block',
  'oobleck_decoder_block',
  't5_encoder',
];

describe.skipIf(!py)('ONNX → .tflite matches onnxruntime under LiteRT', () => {
  for (const name of models) {
    it(name, async () => {
      const graph = convertOnnxFile(join(dir, `${name}.onnx`));
      const path = join(tmp, `${name}.tflite`);
      await writeTfliteFile(path, graph);
      const inputs: Record<string, string> = {};
      for (const f of readdirSync(dir).filter((f) => f.startsWith(`${name}_in_`))) {
        inputs[f.slice(`${name}_in_`.length, -4)] = join(dir, f);
      }
      const got = runLitert(py!, path, inputs).out!;
      const ref = readNpy(join(dir, `${name}_out.npy`));
      expect(got.shape).toEqual(ref.shape);
      expect(cosine(got.data as Float32Array, ref.data as Float32Array)).toBeGreaterThanOrEqual(0.99999);
      expect(maxAbsDiff(got.data as Float32Array, ref.data as Float32Array)).toBeLessThan(1e-4);
    });
  }
});

describe('ONNX conversion errors', () => {
  it('rejects bytes that are not ONNX', () => {
    let err: unknown;
    try {
      convertOnnx(new Uint8Array([1, 2, 3, 4, 5, 6, 7]));
    } catch (e) {
      err = e;
    }
    expect(isAudiogenError(err)).toBe(true);
  });
  const { onnx } = onnxProto as unknown as { onnx: typeof import('onnx-proto').onnx };
  const model = (nodes: { op: string; name: string }[], dims: (number | string)[]) =>
    onnx.ModelProto.encode({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'g',
        input: [
          {
            name: 'x',
            type: {
              tensorType: {
                elemType: 1,
                shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
              },
            },
          },
        ],
        output: [{ name: 'y' }],
        node: nodes.map((n, i) => ({
          opType: n.op,
          name: n.name,
          input: [i ? `h${i}` : 'x'],
          output: [i === nodes.length - 1 ? 'y' : `h${i + 1}`],
        })),
      },
    }).finish();

  it('lists every unsupported op with its node name in one error', () => {
    let err: unknown;
    try {
      convertOnnx(
        model(
          [
            { op: 'Relu', name: 'r' },
            { op: 'Foo', name: 'foo1' },
            { op: 'NonMaxSuppression', name: 'nms' },
          ],
          [1, 4],
        ),
      );
    } catch (e) {
      err = e;
    }
    expect(isAudiogenError(err, 'UNSUPPORTED_OPS')).toBe(true);
    expect((err as Error).message).toMatch(/Foo \(node foo1\)[\s\S]*NonMaxSuppression \(node nms\)/);
  });

  it('asks for shapes of inputs with symbolic dimensions, and accepts them', () => {
    const bytes = model([{ op: 'Relu', name: 'r' }], ['batch', 4]);
    expect(() => convertOnnx(bytes)).toThrow(/x \[batch,4\]/);
    const g = convertOnnx(bytes, { shapes: { x: [3, 4] } });
    expect(g.subgraphs[0]!.tensors[g.subgraphs[0]!.inputs[0]!]!.shape).toEqual([3, 4]);
  });

  it('fuses the erf GELU pattern: the MLP has no unsupported ops and one GELU', () => {
    const g = convertOnnx(readFileSync(join(dir, 'mlp.onnx')));
    expect(opReport(g).counts.GELU).toBe(1);
    // Linear biases are fused into FULLY_CONNECTED (3 inputs), not separate ADDs.
    const fcs = g.subgraphs[0]!.operators.filter((o) => o.op === 'FULLY_CONNECTED');
    expect(fcs.length).toBe(2);
    expect(fcs.every((o) => o.inputs.length === 3 && o.inputs[2]! >= 0)).toBe(true);
    expect(opReport(g).builtin).toEqual({});
  });
});
