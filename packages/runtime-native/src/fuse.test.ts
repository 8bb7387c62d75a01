// Snake activations (five float ops as converters write them) run as one op, the addon's one-pass kernel
// (native/snake.h), in the copy of the model the runtime loads (issue 14): outputs match a float64
// reference and the unfused model, everything that is not exactly the pattern stays as it was, the file
// on disk is untouched, and special values (huge, infinite, NaN) give what the formula gives.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTflite, readTfliteStructure, writeTflite } from '@audiogen/core/tflite';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { ADD_SNAKE_OP, fuseSnakes, SNAKE_OP } from './fuse';
import { createNativeRuntime } from './index';
import { loadAddon } from './native';
import { lcgFloats, type SnakeModelOptions, snakeModel, snakeModelConstants } from './test-models';
import { verifyModelFile } from './verify';

const dir = mkdtempSync(join(tmpdir(), 'audiogen-fuse-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const modelFile = (T: number, C: number, opts: SnakeModelOptions = {}) => {
  const p = join(dir, `snake-${T}x${C}-${Object.keys(opts).join('-') || 'plain'}.tflite`);
  writeFileSync(p, writeTflite(snakeModel(T, C, opts)));
  return p;
};

/** snakeModel in float64: y = snake2(snake1(x + b0)) + b1, or its `residual` forms. */
function reference(x: Float32Array, C: number, residual?: SnakeModelOptions['residual']): Float64Array {
  const k = snakeModelConstants(C);
  const snake = (v: number, a: number, ib: number) => v + ib * Math.sin(a * v) ** 2;
  return Float64Array.from(x, (v, i) => {
    const c = i % C;
    const h = v + k.b0[c]!;
    const s1 = snake(h, k.a1[c]!, k.ib1[c]!);
    const u = residual ? Math.fround(s1 + h) : s1;
    return snake(u, k.a2[c]!, k.ib2[c]!) + (residual === 'shared' ? u : k.b1[c]!);
  });
}

async function run(path: string, x: Float32Array, T: number, C: number, fuseSnake: boolean) {
  const model = await createNativeRuntime({ threads: 2, fuseSnake }).load(path);
  try {
    const out = await model.run({ x: { dtype: 'float32', shape: [1, T, C], data: x } });
    return { fused: model.fusedSnakes, customOps: model.customOps, y: out.y!.data as Float32Array };
  } finally {
    model.dispose();
  }
}

/** Largest |a - b| relative to max(1, |b|), NaN only where both are NaN. */
function worst(a: Float32Array, b: ArrayLike<number>): number {
  let w = 0;
  for (let i = 0; i < a.length; i++) {
    const p = a[i]!;
    const q = b[i]!;
    if (Number.isNaN(q) || Number.isNaN(p)) {
      if (Number.isNaN(p) !== Number.isNaN(q)) return Number.POSITIVE_INFINITY;
      continue;
    }
    w = Math.max(w, Math.abs(p - q) / Math.max(1, Math.abs(q)));
  }
  return w;
}

describe('Snake fusion', () => {
  // C = 48: a tail after the 16-lane blocks; 128 × 2048: rows split over two threads.
  for (const [T, C] of [
    [64, 48],
    [2048, 128],
  ] as const) {
    it(`[1, ${T}, ${C}]: both Snakes fused, outputs = float64 reference and the unfused model`, async () => {
      const path = modelFile(T, C);
      const before = readFileSync(path);
      const x = lcgFloats(T * C, 5).map((v) => v * 8);
      const fused = await run(path, x, T, C, true);
      const plain = await run(path, x, T, C, false);
      expect(fused.fused).toBe(2);
      expect(fused.customOps).toEqual([]); // the file declares none: the fused op is the runtime's own
      expect(plain.fused).toBe(0);
      expect(plain.customOps).toEqual([]);
      const ref = reference(x, C);
      expect(worst(fused.y, ref)).toBeLessThan(2e-6);
      expect(worst(plain.y, ref)).toBeLessThan(2e-5);
      expect(worst(fused.y, plain.y)).toBeLessThan(2e-5);
      expect(readFileSync(path).equals(before)).toBe(true); // only the private copy changed
    });
  }

  it('a residual ADD read by a Snake alone joins its op (snake(a + b) in one pass); one read elsewhere too does not', async () => {
    const T = 2048;
    const C = 48; // a tail after the 16-lane blocks, and rows over two threads
    const isConst = (g: ReturnType<typeof snakeModel>) => (_: number, ti: number) =>
      (g.subgraphs[0]!.tensors[ti]!.data?.length ?? 0) > 0;
    for (const residual of ['only-snake', 'shared'] as const) {
      const g = snakeModel(T, C, { residual });
      const fusion = fuseSnakes(g, isConst(g))!;
      expect(fusion.fused).toBe(2);
      expect(fusion.withAdd).toBe(residual === 'only-snake' ? 1 : 0);
      expect(fusion.graph.subgraphs[0]!.operators.map((o) => o.custom_code ?? o.op)).toEqual(
        residual === 'only-snake'
          ? ['ADD', SNAKE_OP, ADD_SNAKE_OP, 'ADD']
          : ['ADD', SNAKE_OP, 'ADD', SNAKE_OP, 'ADD'],
      );
      const path = modelFile(T, C, { residual });
      const x = lcgFloats(T * C, 10).map((v) => v * 8);
      // Row 3 computed again in double (|αx| beyond the exact reduction): the sum there is the same float sum.
      for (let c = 0; c < C; c++) x[3 * C + c] = 2e5 * (1 + c);
      const fused = await run(path, x, T, C, true);
      const plain = await run(path, x, T, C, false);
      expect(fused.fused).toBe(2);
      expect(fused.customOps).toEqual([]);
      const ref = reference(x, C, residual);
      expect(worst(fused.y, ref)).toBeLessThan(2e-6);
      expect(worst(fused.y, plain.y)).toBeLessThan(2e-5);
    }
  });

  it('huge, infinite and NaN inputs give what the formula gives', async () => {
    const T = 16;
    const C = 32;
    const path = modelFile(T, C);
    const x = lcgFloats(T * C, 6);
    // Row 1: |αx| beyond the exact reduction (the row is computed in double); rows 2, 3: ±inf, NaN.
    for (let c = 0; c < C; c++) {
      x[C + c] = (c % 2 ? -1 : 1) * 3e5 * (1 + c);
      x[2 * C + c] = c % 2 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
      x[3 * C + c] = Number.NaN;
    }
    const { y, fused } = await run(path, x, T, C, true);
    expect(fused).toBe(2);
    const ref = reference(x, C);
    expect(worst(y.subarray(0, C), ref.subarray(0, C))).toBeLessThan(2e-6);
    expect(worst(y.subarray(C, 2 * C), ref.subarray(C, 2 * C))).toBeLessThan(1e-6);
    for (let i = 2 * C; i < 4 * C; i++) expect(Number.isNaN(y[i]!)).toBe(true); // sin(±inf) is NaN
    expect(worst(y.subarray(4 * C), ref.subarray(4 * C))).toBeLessThan(2e-6);
  });

  it('leaves a Snake whose intermediate is also an output, or whose α does not match C, as five ops', () => {
    const isConst = (g: ReturnType<typeof snakeModel>) => (_: number, ti: number) =>
      (g.subgraphs[0]!.tensors[ti]!.data?.length ?? 0) > 0;
    const count = (opts: SnakeModelOptions) => {
      const g = snakeModel(8, 16, opts);
      return fuseSnakes(g, isConst(g))?.fused ?? 0;
    };
    expect(count({})).toBe(2);
    expect(count({ exposeSin: true })).toBe(1);
    expect(count({ badAlpha: true })).toBe(1);
    expect(count({ exposeSin: true, badAlpha: true })).toBe(0);
    const g = snakeModel(8, 16);
    const fusion = fuseSnakes(g, isConst(g))!;
    const ops = fusion.graph.subgraphs[0]!.operators.map((o) => o.custom_code ?? o.op);
    expect(ops).toEqual(['ADD', SNAKE_OP, SNAKE_OP, 'ADD']);
    expect(g.subgraphs[0]!.operators).toHaveLength(12); // the input graph is not modified
  });

  it('a model with an exposed intermediate loads with one Snake fused and the same outputs', async () => {
    const T = 32;
    const C = 64;
    const path = modelFile(T, C, { exposeSin: true });
    const x = lcgFloats(T * C, 7);
    const model = await createNativeRuntime({ threads: 2 }).load(path);
    try {
      expect(model.fusedSnakes).toBe(1);
      const out = await model.run({ x: { dtype: 'float32', shape: [1, T, C], data: x } });
      expect(worst(out.y!.data as Float32Array, reference(x, C))).toBeLessThan(2e-6);
      expect(Object.keys(out).sort()).toEqual(['s1/sin', 'y']);
    } finally {
      model.dispose();
    }
  });

  it('the fused copy is a valid model: its tables read back, the constants in place, α and 1/β aligned', () => {
    const path = modelFile(64, 48);
    const scan = readTfliteStructure(path);
    expect(scan.graph.subgraphs[0]!.operators).toHaveLength(12);
    // What the runtime does to its private copy, done to a copy of the bytes.
    const a = verifyModelFile(path).snakeAppendix!(readFileSync(path).length)!;
    expect(a.fused).toBe(2);
    expect(a.at % 64).toBe(0);
    const bytes = new Uint8Array(a.at + a.bytes.length);
    bytes.set(readFileSync(path));
    bytes.set(a.bytes, a.at);
    new DataView(bytes.buffer).setUint32(0, a.root, true);
    const g = readTflite(bytes);
    const sg = g.subgraphs[0]!;
    expect(sg.operators.map((o) => o.custom_code ?? o.op)).toEqual(['ADD', SNAKE_OP, SNAKE_OP, 'ADD']);
    const k = snakeModelConstants(48);
    const values = (ti: number) => new Float32Array(sg.tensors[ti]!.data!.slice().buffer);
    const [snake1, snake2] = sg.operators.filter((o) => o.custom_code === SNAKE_OP);
    expect(values(snake1!.inputs[1]!)).toEqual(k.a1);
    expect(values(snake2!.inputs[2]!)).toEqual(k.ib2);
    expect(values(1)).toEqual(k.b0); // a constant left where it was
    for (const o of [snake1!, snake2!]) {
      for (const ti of o.inputs.slice(1)) expect(sg.tensors[ti]!.data!.byteOffset % 64).toBe(0);
    }
  });

  it("an AudiogenAddSnake op's α and 1/β are copied aligned too", () => {
    const path = modelFile(64, 48, { residual: 'only-snake' });
    const a = verifyModelFile(path).snakeAppendix!(readFileSync(path).length)!;
    const bytes = new Uint8Array(a.at + a.bytes.length);
    bytes.set(readFileSync(path));
    bytes.set(a.bytes, a.at);
    new DataView(bytes.buffer).setUint32(0, a.root, true);
    const sg = readTflite(bytes).subgraphs[0]!;
    const op = sg.operators.find((o) => o.custom_code === ADD_SNAKE_OP)!;
    const k = snakeModelConstants(48);
    expect(new Float32Array(sg.tensors[op.inputs[2]!]!.data!.slice().buffer)).toEqual(k.a2);
    for (const ti of op.inputs.slice(2)) expect(sg.tensors[ti]!.data!.byteOffset % 64).toBe(0);
  });

  it('without a memfd (macOS, Windows): the read block carries the fused tables', async () => {
    const T = 64;
    const C = 48;
    const path = modelFile(T, C);
    const { addon } = loadAddon();
    const spy = vi.spyOn(addon, 'copyToMemfd').mockReturnValue(null);
    try {
      const x = lcgFloats(T * C, 8);
      const { y, fused } = await run(path, x, T, C, true);
      expect(spy).toHaveBeenCalled();
      expect(fused).toBe(2);
      expect(worst(y, reference(x, C))).toBeLessThan(2e-6);
    } finally {
      spy.mockRestore();
    }
  });

  // Only a hand-made file has such nodes; fusion never writes one.
  for (const [op, inputs, what] of [
    [SNAKE_OP, [4, 1], 'two inputs instead of x, alpha, inv_beta'],
    [ADD_SNAKE_OP, [4, 1, 5, 6], 'an addend of C values, not shaped like x'],
  ] as const) {
    it(`an ${op} node with ${what} fails the run with RUNTIME_ERROR`, async () => {
      const T = 8;
      const C = 16;
      const g = snakeModel(T, C);
      const sg = g.subgraphs[0]!;
      sg.tensors.push({ name: 'z', type: 'FLOAT32', shape: [1, T, C] });
      const z = sg.tensors.length - 1;
      sg.operators.push({
        op: 'CUSTOM',
        builtin_code: 32,
        custom_code: op,
        version: 1,
        inputs: [...inputs],
        outputs: [z],
      });
      sg.outputs = [z];
      g.signatures[0]!.outputs = [{ name: 'z', tensor_index: z }];
      const path = join(dir, `bad-${op}-node.tflite`);
      writeFileSync(path, writeTflite(g));
      const model = await createNativeRuntime({ threads: 1, echoLiteRtErrors: false }).load(path);
      try {
        expect(model.fusedSnakes).toBe(2);
        const x = lcgFloats(T * C, 9);
        await expect(model.run({ x: { dtype: 'float32', shape: [1, T, C], data: x } })).rejects.toMatchObject(
          {
            code: 'RUNTIME_ERROR',
            message: expect.stringContaining(ADD_SNAKE_OP),
          },
        );
      } finally {
        model.dispose();
      }
    });
  }

  it("is off with fuseSnake: false (runtime or load), modelFiles: 'map' and for bytes; a non-boolean is refused", async () => {
    const path = modelFile(64, 48);
    for (const [options, source] of [
      [{ fuseSnake: false }, path],
      [{ modelFiles: 'map' as const }, path],
      [{}, readFileSync(path)],
    ] as const) {
      const model = await createNativeRuntime(options).load(source);
      expect(model.fusedSnakes).toBe(0);
      model.dispose();
    }
    // A load's own fuseSnake wins over the runtime's.
    for (const [runtimeFuse, loadFuse, fused] of [
      [true, false, 0],
      [false, true, 2],
    ] as const) {
      const model = await createNativeRuntime({ fuseSnake: runtimeFuse }).load(path, { fuseSnake: loadFuse });
      expect(model.fusedSnakes).toBe(fused);
      model.dispose();
    }
    await expect(createNativeRuntime().load(path, { fuseSnake: 1 as unknown as boolean })).rejects.toThrow(
      /fuseSnake must be a boolean/,
    );
    expect(() => createNativeRuntime({ fuseSnake: 'yes' as unknown as boolean })).toThrow(
      /fuseSnake must be a boolean/,
    );
  });
});
