import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type AudiogenErrorCode, isAudiogenError, type Tensor, tensor } from '@audiogen/core';
import { maxAbsDiff } from '@audiogen/core/test';
import { afterAll, describe, expect, it } from 'vitest';
import {
  cpuOptionsFor,
  createNativeRuntime,
  describeHost,
  type NativeModel,
  scanTflite,
  verifyModelFile,
  XnnpackFlags,
} from './index';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
type Enc = { dtype: string; shape: number[]; data: (number | string)[] };
// Inputs and outputs computed by the official LiteRT Python runtime (ai-edge-litert 2.3.0) on the same
// files, by scripts/make_models.py.
const REF = JSON.parse(readFileSync(fixture('reference.json'), 'utf8')) as Record<
  string,
  Record<string, Record<string, Enc>>
>;

const rt = createNativeRuntime({ threads: 1 });
const open: NativeModel[] = [];
async function load(name: string, opts: Parameters<typeof rt.load>[1] = {}) {
  const m = await rt.load(fixture(name), opts);
  open.push(m);
  return m;
}
afterAll(() => {
  for (const m of open) if (!m.disposed) m.dispose();
});

function refTensor(e: Enc): Tensor {
  if (e.dtype === 'int64') return tensor('int64', e.shape, BigInt64Array.from(e.data.map((v) => BigInt(v))));
  return tensor('float32', e.shape, Float32Array.from(e.data as number[]));
}

async function expectCode(p: Promise<unknown> | (() => unknown), code: AudiogenErrorCode): Promise<Error> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (!isAudiogenError(e, code)) throw new Error(`expected ${code}, got ${String(e)}`);
    return e;
  }
  throw new Error(`expected ${code}, got success`);
}

describe('LiteRT native runtime: results match the official Python LiteRT on the same files', () => {
  it('add_fc: two inputs, two outputs, FC + ADD + MUL', async () => {
    const m = await load('add_fc.tflite');
    expect(m.inputs.map((t) => [t.name, t.dtype, t.shape])).toEqual([
      ['x', 'float32', [1, 4]],
      ['y', 'float32', [1, 3]],
    ]);
    expect(m.outputs.map((t) => t.name)).toEqual(['z', 'x2']);
    expect(m.signatures[0]!.key).toBe('serving_default');
    const r = REF.add_fc!;
    const out = await m.run({ x: refTensor(r.inputs!.x!), y: refTensor(r.inputs!.y!) });
    expect(out.z!.shape).toEqual([1, 3]);
    expect(maxAbsDiff(out.z!.data as Float32Array, r.outputs!.z!.data as number[])).toBeLessThan(1e-6);
    expect(Array.from(out.x2!.data as Float32Array)).toEqual([2.25, 4, 0.0625, 9]);
  });

  it('int64 inputs and outputs are exact', async () => {
    const m = await load('int64_add.tflite');
    const r = REF.int64_add!;
    const out = await m.run({ ids: refTensor(r.inputs!.ids!) });
    expect(out.out!.dtype).toBe('int64');
    expect(Array.from(out.out!.data as BigInt64Array).map(String)).toEqual(r.outputs!.out!.data);
  });

  it('loads from bytes as well as from a path', async () => {
    const bytes = new Uint8Array(readFileSync(fixture('add_fc.tflite')));
    const m = await rt.load(bytes, { label: 'bytes' });
    open.push(m);
    const r = REF.add_fc!;
    const out = await m.run({ x: refTensor(r.inputs!.x!), y: refTensor(r.inputs!.y!) });
    expect(maxAbsDiff(out.z!.data as Float32Array, r.outputs!.z!.data as number[])).toBeLessThan(1e-6);
  });

  it('forceFp16 reaches XNNPACK (FORCE_FP16): output equals Python LiteRT with the same flag', async () => {
    const r = REF.fc_probe!;
    const x = refTensor(r.inputs!.x!);
    const f32 = await (await load('fc_probe.tflite')).run({ x });
    const f16 = await (await load('fc_probe.tflite', { forceFp16: true })).run({ x });
    const y32 = f32.y!.data as Float32Array;
    const y16 = f16.y!.data as Float32Array;
    expect(maxAbsDiff(y32, r.outputs!.y!.data as number[])).toBeLessThan(2e-3);
    expect(maxAbsDiff(y16, r.outputs_fp16!.y!.data as number[])).toBeLessThan(1e-3);
    // fp16 arithmetic is visibly coarser than fp32 on these ~512-valued sums
    expect(maxAbsDiff(y32, y16)).toBeGreaterThan(5e-3);
  });

  it.skipIf(process.platform !== 'linux')(
    'threads reach XNNPACK: threads=4 starts 3 pool workers, dispose stops them',
    async () => {
      const tasks = () => readdirSync('/proc/self/task').length;
      const x = tensor('float32', [1, 512]);
      const one = await load('fc_probe.tflite', { threads: 1 });
      await one.run({ x });
      const before = tasks();
      const four = await rt.load(fixture('fc_probe.tflite'), { threads: 4 });
      await four.run({ x });
      expect(tasks() - before).toBe(3);
      four.dispose();
      // dispose() joins the pool threads; an emulator (qemu-user) may still list a joined thread for a
      // moment while it finishes exiting, so allow up to 2 s for the count to settle.
      for (let i = 0; i < 40 && tasks() !== before; i++) await new Promise((r) => setTimeout(r, 50));
      expect(tasks()).toBe(before);
    },
  );

  it('builds the CPU options payload LiteRT parses (TOML, identifier "xnnpack")', () => {
    expect(cpuOptionsFor({ threads: 3 }).toml).toBe('num_threads = 3\n');
    const o = cpuOptionsFor({ threads: 2, forceFp16: true, weightCachePath: '/tmp/w.cache' });
    expect(o.xnnpackFlags).toBe(XnnpackFlags.QS8 | XnnpackFlags.QU8 | XnnpackFlags.FORCE_FP16);
    expect(o.toml).toBe('num_threads = 2\nflags = 7\nweight_cache_file_path = "/tmp/w.cache"\n');
  });

  it('a heavy run keeps the event loop free, and matches Python LiteRT', async () => {
    const m = await load('matmul_chain.tflite');
    const n = 512;
    const a = new Float32Array(n * n);
    const b = new Float32Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        a[i * n + j] = Math.sin(i * 0.37 + j * 0.11);
        b[i * n + j] = Math.cos(i * 0.13 - j * 0.29);
      }
    // Run until >= 120 ms have passed. A blocked event loop could fire the 2 ms interval at most once per
    // run (between runs); a free one fires it many times during each run.
    let ticks = 0;
    const timer = setInterval(() => ticks++, 2);
    const inputs = { a: tensor('float32', [1, n, n], a), b: tensor('float32', [1, n, n], b) };
    const t0 = performance.now();
    let out = await m.run(inputs);
    let runs = 1;
    while (performance.now() - t0 < 120) {
      out = await m.run(inputs);
      runs++;
    }
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(runs + 5);
    const head = (out.y!.data as Float32Array).subarray(0, 16);
    const ref = REF.matmul_chain!.outputs!.y_row0_head!.data as number[];
    const scale = Math.max(...ref.map(Math.abs));
    expect(maxAbsDiff(head, ref) / scale).toBeLessThan(1e-3);
  });

  it('serialises concurrent runs on one model', async () => {
    const m = await load('add_fc.tflite');
    const r = REF.add_fc!;
    const runs = await Promise.all(
      [0, 1, 2].map(() => m.run({ x: refTensor(r.inputs!.x!), y: refTensor(r.inputs!.y!) })),
    );
    for (const o of runs)
      expect(maxAbsDiff(o.z!.data as Float32Array, r.outputs!.z!.data as number[])).toBeLessThan(1e-6);
  });
});

describe('resizing', () => {
  it('reports open dims and resizes explicitly or from the input shape', async () => {
    const m = await load('dynamic_mul.tflite');
    expect(m.inputs[0]!.shape).toEqual([-1, 4]);
    const x3 = tensor(
      'float32',
      [3, 4],
      new Float32Array(12).map((_, i) => i),
    );
    const out = await m.run({ x: x3 });
    expect(out.y!.shape).toEqual([3, 4]);
    expect(Array.from(out.y!.data as Float32Array)).toEqual(Array.from({ length: 12 }, (_, i) => i * i));
    m.resizeInput!('x', [2, 4]);
    const out2 = await m.run({ x: tensor('float32', [2, 4], new Float32Array(8).fill(3)) });
    expect(Array.from(out2.y!.data as Float32Array)).toEqual(new Array(8).fill(9));
    await expectCode(() => m.resizeInput!('x', [2, 5]), 'INVALID_ARGUMENT');
    await expectCode(() => m.resizeInput!('nope', [2, 4]), 'INVALID_ARGUMENT');
  });

  it('refuses to resize a static input', async () => {
    const m = await load('add_fc.tflite');
    await expectCode(() => m.resizeInput!('x', [2, 4]), 'INVALID_ARGUMENT');
  });
});

describe('misuse gives typed errors, never a crash', () => {
  const x = tensor('float32', [1, 4], new Float32Array(4));
  const y = tensor('float32', [1, 3], new Float32Array(3));

  it('bad files', async () => {
    await expectCode(rt.load(fixture('does-not-exist.tflite')), 'MISSING_FILE');
    await expectCode(rt.load(new Uint8Array(64).fill(7)), 'INVALID_TFLITE');
    const good = new Uint8Array(readFileSync(fixture('add_fc.tflite')));
    await expectCode(rt.load(good.subarray(0, 100)), 'INVALID_TFLITE');
    await expectCode(rt.load(good.subarray(0, 10)), 'INVALID_TFLITE');
    await expectCode(rt.load('not a path' as unknown as Uint8Array, {}), 'MISSING_FILE');
    await expectCode(rt.load(42 as unknown as string), 'INVALID_ARGUMENT');
  });

  it('unsupported ops are reported at load with their names', async () => {
    const e = (await expectCode(rt.load(fixture('custom_op.tflite')), 'UNSUPPORTED_OPS')) as Error & {
      details: Record<string, unknown>;
    };
    expect(e.details.customOps).toEqual(['AudiogenNoSuchOp']);
  });

  it('bad options', async () => {
    await expectCode(rt.load(fixture('add_fc.tflite'), { threads: 0 }), 'INVALID_ARGUMENT');
    await expectCode(rt.load(fixture('add_fc.tflite'), { threads: 1.5 }), 'INVALID_ARGUMENT');
    await expectCode(rt.load(fixture('add_fc.tflite'), { xnnpackFlags: -1 }), 'INVALID_ARGUMENT');
    await expectCode(rt.load(fixture('add_fc.tflite'), { weightCachePath: 'a"b' }), 'INVALID_ARGUMENT');
    expect(() => createNativeRuntime({ threads: -2 })).toThrow(/threads/);
  });

  it('bad inputs', async () => {
    const m = await load('add_fc.tflite');
    await expectCode(m.run({ x }), 'MISSING_INPUT');
    await expectCode(m.run({ x, y, extra: y }), 'INVALID_ARGUMENT');
    await expectCode(m.run({ x, y: tensor('int32', [1, 3]) }), 'INVALID_ARGUMENT');
    await expectCode(m.run({ x, y: tensor('float32', [3, 1]) }), 'INVALID_ARGUMENT');
    await expectCode(
      m.run({ x, y: { dtype: 'float32', shape: [1, 3], data: new Float32Array(2) } }),
      'INVALID_ARGUMENT',
    );
    await expectCode(
      m.run({ x, y: { dtype: 'float32', shape: [1, 3], data: [1, 2, 3] } as unknown as Tensor }),
      'INVALID_ARGUMENT',
    );
    await expectCode(m.run({ x, y }, { signature: 'nope' }), 'NOT_FOUND');
    await expectCode(m.run(null as unknown as Record<string, Tensor>), 'INVALID_ARGUMENT');
    // still usable afterwards
    expect((await m.run({ x, y })).z!.shape).toEqual([1, 3]);
  });

  it('abort before a run, and dispose semantics', async () => {
    const m = await rt.load(fixture('add_fc.tflite'));
    const ac = new AbortController();
    ac.abort();
    await expectCode(m.run({ x, y }, { signal: ac.signal }), 'ABORTED');
    expect(m.disposed).toBe(false);
    m.dispose();
    expect(m.disposed).toBe(true);
    await expectCode(() => m.dispose(), 'DISPOSED');
    await expectCode(m.run({ x, y }), 'DISPOSED');
    await expectCode(() => m.resizeInput!('x', [1, 4]), 'DISPOSED');
  });

  it('abort and dispose during a run settle cleanly', async () => {
    const n = 512;
    const a = tensor('float32', [1, n, n], new Float32Array(n * n).fill(0.5));
    const m1 = await rt.load(fixture('matmul_chain.tflite'));
    const ac = new AbortController();
    const p = m1.run({ a, b: a }, { signal: ac.signal });
    setTimeout(() => ac.abort(), 1);
    await expectCode(p, 'ABORTED');
    // the model stays usable after a cancelled run
    expect((await m1.run({ a, b: a })).y!.shape).toEqual([1, n, n]);
    const p2 = m1.run({ a, b: a });
    await new Promise((r) => setTimeout(r, 1));
    m1.dispose();
    await p2.then(
      () => undefined,
      (e) => expect(isAudiogenError(e, 'ABORTED') || isAudiogenError(e, 'DISPOSED')).toBe(true),
    );
    expect(m1.disposed).toBe(true);
  });
});

describe('scanTflite (the pre-LiteRT check)', () => {
  it('finds open dims and custom ops', () => {
    expect([...scanTflite(readFileSync(fixture('dynamic_mul.tflite'))).openDims]).toEqual([
      ['serving_default/x', [-1, 4]],
    ]);
    expect(scanTflite(readFileSync(fixture('custom_op.tflite'))).customOps).toEqual(['AudiogenNoSuchOp']);
  });

  it("agrees with the facts core's verifier decodes from the file (tables only)", () => {
    for (const f of ['dynamic_mul.tflite', 'custom_op.tflite', 'add_fc.tflite', 'int64_add.tflite']) {
      const a = scanTflite(readFileSync(fixture(f)));
      const b = verifyModelFile(fixture(f));
      expect([...b.openDims]).toEqual([...a.openDims]);
      expect(b.customOps).toEqual(a.customOps);
      expect([...b.builtinCodes].sort()).toEqual([...new Set(a.builtinCodes)].sort());
    }
  });

  it('never crashes or hangs on corrupted files (2000 mutations)', () => {
    const good = new Uint8Array(readFileSync(fixture('add_fc.tflite')));
    let seed = 12345;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    for (let i = 0; i < 2000; i++) {
      const b = good.slice(0, Math.max(8, Math.floor(rnd() * good.length * 1.1)));
      for (let k = 0; k < 4; k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      try {
        scanTflite(b);
      } catch (e) {
        expect(isAudiogenError(e, 'INVALID_TFLITE')).toBe(true);
      }
    }
  });
});

describe('describeHost', () => {
  it('reports the pinned engine and CPU features', () => {
    const h = describeHost();
    expect(h.engine.available).toBe(true);
    expect(h.engine.libraryPinned).toBe(true);
    // the release pinned per platform in scripts/fetch-litert.mjs
    expect(h.engine.version).toBe(
      (
        {
          'linux-x64': '2.3.0',
          'linux-arm64': '2.3.0',
          'darwin-arm64': '2.3.0',
          'win32-x64': '2.3.0',
        } as Record<string, string>
      )[`${h.platform}-${h.arch}`],
    );
    expect(h.logicalCores).toBeGreaterThan(0);
    if (h.arch === 'x64') expect(typeof h.cpuFeatures.avx2).toBe('boolean');
    if (h.arch === 'arm64') expect(typeof h.cpuFeatures.sme2).toBe('boolean');
    expect(h.kernels.length).toBeGreaterThan(0);
  });
});
