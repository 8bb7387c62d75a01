// The GPU path for real: LiteRT's WebGPU accelerator on a Vulkan device. Here (no GPU) that device is Mesa's
// lavapipe (software Vulkan, Mesa >= 25; scripts/setup-dev.sh installs it). Timings on it mean nothing; these
// tests check placement, results against the CPU path, refusals and fallback.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAudiogenError, type Tensor, tensor } from '@audiogen/core';
import { maxAbsDiff } from '@audiogen/core/test';
import { afterAll, describe, expect, it } from 'vitest';
import { adapterFromLog, classifyGpuFailure, findGpuLibrary, unsupportedOpsFromLog } from './gpu';
import { type AcceleratorWarning, createNativeRuntime, type NativeModel } from './index';
import { loadAddon } from './native';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const REF = JSON.parse(readFileSync(fixture('reference.json'), 'utf8')) as Record<
  string,
  Record<string, Record<string, { dtype: string; shape: number[]; data: number[] }>>
>;
const f32 = (e: { shape: number[]; data: number[] }): Tensor =>
  tensor('float32', e.shape, Float32Array.from(e.data));

const inCI = !!process.env.CI && !/^(0|false|no)$/i.test(process.env.CI);
const lib = findGpuLibrary(undefined, loadAddon().path);
const vulkan = ['/usr/share/vulkan/icd.d/lvp_icd.json', '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json'].some(
  existsSync,
);
// The GPU lane is linux-x64 with Mesa's lavapipe; the arm64 QEMU lane (same files) has no Vulkan device.
const lane = process.platform === 'linux' && process.arch === 'x64';
const why = !lane
  ? `no GPU lane on ${process.platform}-${process.arch} (linux-x64 with lavapipe only)`
  : !('found' in lib)
    ? 'the GPU accelerator library is not built (npm run build -w @audiogen/runtime-native-gpu)'
    : !vulkan
      ? 'no lavapipe Vulkan driver (bash scripts/setup-dev.sh installs Mesa 25 from bookworm-backports)'
      : '';
if (why && inCI && lane) throw new Error(`GPU tests cannot run in CI: ${why}`);
if (why) console.warn(`[gpu.test] skipped: ${why}`);

const warnings: AcceleratorWarning[] = [];
const rt = createNativeRuntime({ threads: 1, onWarning: (w) => warnings.push(w) });
const open: NativeModel[] = [];
afterAll(() => {
  for (const m of open) if (!m.disposed) m.dispose();
});
async function load(name: string, opts: Parameters<typeof rt.load>[1]) {
  const m = await rt.load(fixture(name), opts);
  open.push(m);
  return m;
}

describe('GPU log parsing (LiteRT 2.1.6 texts)', () => {
  it('reads the adapter, the unsupported ops and the no-adapter case', () => {
    const log =
      'I0000 00:00:1 environment.cc:522] Selected adapter: llvmpipe (LLVM 15.0.6, 256 bits), arch=software, backend=Vulkan\n';
    expect(adapterFromLog(log)).toBe('llvmpipe (LLVM 15.0.6, 256 bits), arch=software, backend=Vulkan');
    const ops =
      'ERROR: Following operations are not supported by GPU delegate:\nADD: Tensor type(INT64) is not supported. ids\nNo operations will run on the GPU, and all 1 operations will run on the CPU.\n';
    expect(unsupportedOpsFromLog(ops)).toEqual([
      { op: 'ADD', reason: 'Tensor type(INT64) is not supported. ids' },
    ]);
    expect(classifyGpuFailure(ops).reason).toBe('unsupported-ops');
    expect(
      classifyGpuFailure(
        'E0000 delegate_webgpu.cc:238] Failed to initialize WebGPU environment: INTERNAL: No adapters found',
      ).reason,
    ).toBe('no-adapter');
    expect(classifyGpuFailure('something else').reason).toBe('failed');
  });
});

describe.skipIf(!!why)('GPU accelerator (LiteRT WebGPU on lavapipe)', () => {
  it('add_fc runs fully on the GPU; fp16 within fp16 rounding of the CPU path, fp32 equal to it', async () => {
    const r = REF.add_fc!;
    const inputs = { x: f32(r.inputs!.x!), y: f32(r.inputs!.y!) };
    const cpu = await load('add_fc.tflite', {});
    const want = await cpu.run(inputs);
    const g16 = await load('add_fc.tflite', { accelerator: 'gpu' });
    expect(g16.placement).toMatchObject({
      requested: 'gpu',
      accelerator: 'gpu',
      precision: 'fp16',
      fullyAccelerated: true,
    });
    expect(g16.placement.adapter).toMatch(/llvmpipe|backend=Vulkan/);
    const got16 = await g16.run(inputs);
    const g32 = await load('add_fc.tflite', { accelerator: 'gpu', gpuPrecision: 'fp32' });
    const got32 = await g32.run(inputs);
    for (const name of ['z', 'x2']) {
      const ref = want[name]!.data as Float32Array;
      const scale = Math.max(...Array.from(ref, Math.abs));
      // fp16 has an 11-bit significand: relative rounding 2^-11 per op; 2e-3 of the largest value.
      expect(maxAbsDiff(got16[name]!.data as Float32Array, ref)).toBeLessThanOrEqual(2e-3 * scale);
      expect(maxAbsDiff(got32[name]!.data as Float32Array, ref)).toBeLessThanOrEqual(1e-6 * scale);
    }
  });

  it("a model the GPU cannot run whole: 'gpu' fails naming the op, 'auto' runs it on the CPU with a warning", async () => {
    let err: unknown;
    try {
      await load('int64_add.tflite', { accelerator: 'gpu' });
    } catch (e) {
      err = e;
    }
    expect(isAudiogenError(err, 'ACCELERATOR_UNAVAILABLE')).toBe(true);
    const e = err as { message: string; details: { reason: string; ops: { op: string }[] } };
    expect(e.details.reason).toBe('unsupported-ops');
    expect(e.details.ops.map((o) => o.op)).toEqual(['ADD']);
    expect(e.message).toMatch(/ADD \(Tensor type\(INT64\) is not supported/);
    const before = warnings.length;
    const m = await load('int64_add.tflite', { accelerator: 'auto' });
    expect(m.placement).toMatchObject({
      requested: 'auto',
      accelerator: 'cpu',
      fallback: { reason: 'unsupported-ops' },
    });
    expect(warnings.slice(before)).toMatchObject([
      { code: 'GPU_FALLBACK', reason: 'unsupported-ops', ops: [{ op: 'ADD' }] },
    ]);
    const r = REF.int64_add!;
    const ids = r.inputs!.ids!;
    const out = await m.run({
      ids: tensor('int64', ids.shape, BigInt64Array.from(ids.data.map((v) => BigInt(v)))),
    });
    expect(Array.from(out.out!.data as BigInt64Array, String)).toEqual(r.outputs!.out!.data.map(String));
  });

  it('no accelerator library: gpu → ACCELERATOR_UNAVAILABLE (library-missing), auto → CPU', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'audiogen-nogpu-'));
    try {
      const rt2 = createNativeRuntime({ gpuLibraryDir: empty, onWarning: (w) => warnings.push(w) });
      let err: unknown;
      try {
        await rt2.load(fixture('add_fc.tflite'), { accelerator: 'gpu' });
      } catch (e) {
        err = e;
      }
      expect(isAudiogenError(err, 'ACCELERATOR_UNAVAILABLE')).toBe(true);
      expect((err as { details: { reason: string } }).details.reason).toBe('library-missing');
      const m = await rt2.load(fixture('add_fc.tflite'), { accelerator: 'auto' });
      expect(m.placement).toMatchObject({ accelerator: 'cpu', fallback: { reason: 'library-missing' } });
      m.dispose();
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('abort: a pre-aborted run and a run aborted midway settle as ABORTED; the model stays usable', async () => {
    const m = await load('matmul_chain.tflite', { accelerator: 'gpu', gpuPrecision: 'fp32' });
    const n = 512;
    const a = new Float32Array(n * n).map((_, k) => Math.sin(Math.floor(k / n) * 0.37 + (k % n) * 0.11));
    const b = new Float32Array(n * n).map((_, k) => Math.cos(Math.floor(k / n) * 0.13 - (k % n) * 0.29));
    const inputs = { a: tensor('float32', [1, n, n], a), b: tensor('float32', [1, n, n], b) };
    const ac = new AbortController();
    ac.abort();
    await expect(m.run(inputs, { signal: ac.signal })).rejects.toMatchObject({ code: 'ABORTED' });
    const ac2 = new AbortController();
    const p = m.run(inputs, { signal: ac2.signal });
    setTimeout(() => ac2.abort(), 5);
    // LiteRT checks cancellation between delegate partitions; the whole graph is one GPU partition, so
    // a run already inside it may finish: either outcome is allowed, nothing else.
    await p.then(
      () => undefined,
      (e) => expect(e).toMatchObject({ code: 'ABORTED' }),
    );
    const out = await m.run(inputs);
    const ref = REF.matmul_chain!.outputs!.y_row0_head!.data;
    expect(maxAbsDiff((out.y!.data as Float32Array).subarray(0, 16), Float32Array.from(ref))).toBeLessThan(
      1e-4,
    );
  });

  it('no adapter (VK_ICD_FILENAMES pointing nowhere): gpu fails with no-adapter, auto falls back', () => {
    const script = `
      const { createNativeRuntime } = require(${JSON.stringify(fileURLToPath(new URL('../dist/index.cjs', import.meta.url)))});
      (async () => {
        const warnings = [];
        const rt = createNativeRuntime({ onWarning: (w) => warnings.push(w) });
        const out = {};
        try { await rt.load(process.argv[1], { accelerator: 'gpu' }); out.gpu = 'loaded'; }
        catch (e) { out.gpu = { code: e.code, reason: e.details && e.details.reason, message: e.message }; }
        const m = await rt.load(process.argv[1], { accelerator: 'auto' });
        out.auto = m.placement;
        out.warnings = warnings;
        console.log(JSON.stringify(out));
      })().catch((e) => { console.log(JSON.stringify({ crash: String(e) })); process.exit(1); });`;
    const r = spawnSync(process.execPath, ['-e', script, fixture('add_fc.tflite')], {
      env: { ...process.env, VK_ICD_FILENAMES: '/nonexistent/icd.json' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(out.gpu).toMatchObject({ code: 'ACCELERATOR_UNAVAILABLE', reason: 'no-adapter' });
    expect(out.gpu.message).toMatch(/no GPU adapter/);
    expect(out.auto).toMatchObject({
      requested: 'auto',
      accelerator: 'cpu',
      fallback: { reason: 'no-adapter' },
    });
    expect(out.warnings).toHaveLength(1);
  });

  it('bad options are refused before anything loads', async () => {
    await expect(rt.load(fixture('add_fc.tflite'), { accelerator: 'tpu' as 'gpu' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(
      rt.load(fixture('add_fc.tflite'), { accelerator: 'gpu', gpuPrecision: 'fp8' as 'fp16' }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
