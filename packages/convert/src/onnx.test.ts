import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
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

// Initializers as a hostile file can write them (issue 12 §3/§4): external data must stay inside the
// model's folder; dims, sizes and offsets are checked before anything is read or allocated.
describe('ONNX initializers from untrusted files', () => {
  const { onnx } = onnxProto as unknown as { onnx: typeof import('onnx-proto').onnx };
  const folder = join(tmp, 'ext');
  mkdirSync(join(folder, 'sub'), { recursive: true });
  const weights = new Float32Array([1, 2, 3, 4]);
  writeFileSync(join(folder, 'w.bin'), new Uint8Array(weights.buffer));
  writeFileSync(join(folder, 'sub', 'w.bin'), new Uint8Array(weights.buffer));
  const outside = join(tmp, 'secret.bin');
  writeFileSync(outside, new Uint8Array(64).fill(7));
  symlinkSync(outside, join(folder, 'escape.bin'));
  symlinkSync(join(folder, 'w.bin'), join(folder, 'inside-link.bin'));

  /** y = x + w, w [4] float32 given by `init`. */
  const withInit = (init: Record<string, unknown>) =>
    onnx.ModelProto.encode({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'g',
        input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 4 }] } } } }],
        output: [{ name: 'y' }],
        initializer: [{ name: 'w', dataType: 1, dims: [4], ...init }],
        node: [{ opType: 'Add', name: 'add', input: ['x', 'w'], output: ['y'] }],
      },
    }).finish();
  const external = (location: string, extra: Record<string, string> = {}) =>
    withInit({
      dataLocation: 1,
      externalData: [
        { key: 'location', value: location },
        ...Object.entries(extra).map(([key, value]) => ({ key, value })),
      ],
    });
  const convert = (bytes: Uint8Array) => convertOnnx(bytes, { baseDir: folder });
  const constant = (g: ReturnType<typeof convert>) =>
    Array.from(
      new Float32Array(
        g.subgraphs[0]!.tensors.find((t) => t.data && t.data.length === 16)!.data!.slice().buffer,
      ),
    );

  it('reads external data inside the folder (also through a symlink that stays inside)', () => {
    for (const loc of ['w.bin', 'sub/w.bin', './w.bin', 'inside-link.bin']) {
      expect(constant(convert(external(loc)))).toEqual([1, 2, 3, 4]);
    }
  });

  it('refuses a location that leaves the folder: .., absolute, symlink out', () => {
    for (const loc of [
      '../secret.bin',
      '../../../../etc/passwd',
      'sub/../../secret.bin',
      outside,
      '/etc/passwd',
    ]) {
      expect(() => convert(external(loc)), loc).toThrow(
        expect.objectContaining({
          code: 'INVALID_ONNX',
          message: expect.stringContaining('inside the model'),
        }),
      );
    }
    expect(() => convert(external('escape.bin'))).toThrow(
      expect.objectContaining({ code: 'INVALID_ONNX', message: expect.stringContaining('leads outside') }),
    );
  });

  it('missing file, offset 2^60, a range past the end or short data: typed errors', () => {
    expect(() => convert(external('nope.bin'))).toThrow(expect.objectContaining({ code: 'MISSING_FILE' }));
    expect(() => convert(external('w.bin', { offset: String(2n ** 60n) }))).toThrow(
      expect.objectContaining({
        code: 'INVALID_ONNX',
        message: expect.stringContaining('not a valid byte count'),
      }),
    );
    expect(() => convert(external('w.bin', { offset: '-4' }))).toThrow(
      expect.objectContaining({ code: 'INVALID_ONNX' }),
    );
    expect(() => convert(external('w.bin', { offset: '8', length: '16' }))).toThrow(
      expect.objectContaining({ code: 'INVALID_ONNX', message: expect.stringContaining('outside w.bin') }),
    );
    expect(() => convert(external('w.bin', { offset: '8' }))).toThrow(
      expect.objectContaining({
        code: 'INVALID_ONNX',
        message: expect.stringContaining('the tensor needs 16'),
      }),
    );
  });

  it('huge or negative dims and short raw data: typed errors before allocation', () => {
    for (const dims of [[-1], [2 ** 40], [1e6, 1e6, 1e6]]) {
      expect(() => convert(withInit({ dims, rawData: new Uint8Array(16) })), String(dims)).toThrow(
        expect.objectContaining({ code: 'INVALID_ONNX' }),
      );
    }
    expect(() => convert(withInit({ rawData: new Uint8Array(7) }))).toThrow(
      expect.objectContaining({
        code: 'INVALID_ONNX',
        message: expect.stringContaining('7 bytes of raw data'),
      }),
    );
    expect(() => convert(withInit({ floatData: [1, 2] }))).toThrow(
      expect.objectContaining({ code: 'INVALID_ONNX', message: expect.stringContaining('2 values') }),
    );
    expect(constant(convert(withInit({ floatData: [1, 2, 3, 4] })))).toEqual([1, 2, 3, 4]);
  });
});
