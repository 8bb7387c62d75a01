// The private copy of a model file (memfd) frees the pages of weights XNNPACK has packed (issue 14): the
// memory really goes back to the kernel (the memfd's allocated blocks shrink), outputs do not change, weights
// another op reads stay, a read of a freed page is caught, and loads no longer leak their memfd.
import { fstatSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAudiogenError } from '@audiogen/core';
import { readTfliteStructure, writeTflite } from '@audiogen/core/tflite';
import { afterAll, describe, expect, it } from 'vitest';
import { createNativeRuntime } from './index';
import { loadAddon } from './native';
import { canSpawnNode } from './test-child';
import { fcStack, lcgFloats } from './test-models';
import { packedWeightRanges } from './verify';

const linux = process.platform === 'linux';
const dir = mkdtempSync(join(tmpdir(), 'audiogen-release-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const K = 512;
const N = 512; // w1 and w2: 1 MB each
const file = (name: string, gather: boolean) => {
  const p = join(dir, name);
  writeFileSync(p, writeTflite(fcStack(K, N, gather)));
  return p;
};
const plain = file('fc.tflite', false);
const withGather = file('fc-gather.tflite', true);

/** This process's model memfds (fd numbers). */
const memfds = () =>
  readdirSync('/proc/self/fd')
    .map(Number)
    .filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`).includes('memfd:audiogen-model');
      } catch {
        return false;
      }
    });

/** y = w2·(w1·x + b1), in float64. */
function reference(x: Float32Array): Float64Array {
  const w1 = lcgFloats(N * K, 1);
  const b1 = lcgFloats(N, 2);
  const w2 = lcgFloats(N * N, 3);
  const h = new Float64Array(N).map((_, n) => {
    let s = b1[n]!;
    for (let k = 0; k < K; k++) s += w1[n * K + k]! * x[k]!;
    return s;
  });
  return new Float64Array(N).map((_, n) => {
    let s = 0;
    for (let k = 0; k < N; k++) s += w2[n * N + k]! * h[k]!;
    return s;
  });
}
const x = lcgFloats(K, 9);
const idx = Int32Array.of(3, 0, 511, 7);
const inputs = (gather: boolean) => ({
  x: { dtype: 'float32' as const, shape: [1, K], data: x },
  ...(gather ? { idx: { dtype: 'int32' as const, shape: [4], data: idx } } : {}),
});

describe('which weights may go (from the tables)', () => {
  it('FC weights and bias only; a weight GATHER also reads stays', () => {
    for (const [path, expected] of [
      [plain, ['w1', 'b1', 'w2']],
      [withGather, ['b1', 'w2']],
    ] as const) {
      const { graph, layout } = readTfliteStructure(path);
      const ranges = packedWeightRanges(
        graph,
        (si, ti) => layout.tensorBuffers[si]?.[ti] ?? 0,
        (b) =>
          (layout.bufferSizes[b] ?? 0) > 0 ? [layout.bufferOffsets[b]!, layout.bufferSizes[b]!] : undefined,
      );
      const named = graph.subgraphs[0]!.tensors.flatMap((t, ti) => {
        const b = layout.tensorBuffers[0]![ti]!;
        return ranges.some((v, i) => i % 2 === 0 && v === layout.bufferOffsets[b] && b > 0) ? [t.name] : [];
      });
      expect(named.sort()).toEqual([...expected].sort());
    }
  });
});

describe.skipIf(!linux)('packed weights freed after compile (Linux memfd)', () => {
  const rt = createNativeRuntime({ threads: 1 });
  const kept = createNativeRuntime({ threads: 1, releasePackedWeights: false });

  it('fully accelerated: both FC weights go back to the kernel, outputs unchanged', async () => {
    const before = new Set(memfds());
    const m = await rt.load(plain);
    const fd = memfds().find((f) => !before.has(f))!;
    const ref = await kept.load(plain);
    try {
      // w1 + w2 = 2 MiB, less at most 2 pages each at the edges (b1 is 2 KB: inside one page).
      expect(m.releasedWeightBytes).toBeGreaterThanOrEqual(2 * 2 ** 20 - 4 * 4096);
      const size = Math.ceil(fstatSync(fd).size / 4096) * 4096; // the last page is whole
      expect(fstatSync(fd).blocks * 512).toBeLessThanOrEqual(size - m.releasedWeightBytes);
      expect(ref.releasedWeightBytes).toBe(0);
      const y = (await m.run(inputs(false))).y!.data as Float32Array;
      const yRef = (await ref.run(inputs(false))).y!.data as Float32Array;
      expect(Array.from(y)).toEqual(Array.from(yRef)); // bit for bit
      const r = reference(x);
      const scale = Math.max(...r.map(Math.abs));
      for (let i = 0; i < N; i++) expect(Math.abs(y[i]! - r[i]!)).toBeLessThan(1e-5 * scale);
      // Later runs read nothing freed either (the guard would throw).
      for (let i = 0; i < 3; i++) await m.run(inputs(false));
      expect(fstatSync(fd).blocks * 512).toBeLessThanOrEqual(size - m.releasedWeightBytes);
    } finally {
      m.dispose();
      ref.dispose();
    }
  });

  it('not fully accelerated: the weight GATHER reads stays, the packed one goes, outputs unchanged', async () => {
    const m = await rt.load(withGather);
    const ref = await kept.load(withGather);
    try {
      // w2 goes where the process can read its page table (not under qemu-user); w1 (read by GATHER) never.
      if (canSpawnNode) expect(m.releasedWeightBytes).toBeGreaterThanOrEqual(2 ** 20 - 2 * 4096);
      expect(m.releasedWeightBytes).toBeLessThan(2 ** 20 + 4096);
      const out = await m.run(inputs(true));
      const outRef = await ref.run(inputs(true));
      expect(Array.from(out.y!.data as Float32Array)).toEqual(Array.from(outRef.y!.data as Float32Array));
      const g = out.g!.data as Float32Array;
      const w1 = lcgFloats(N * K, 1);
      idx.forEach((row, i) => {
        expect(Array.from(g.subarray(i * K, (i + 1) * K))).toEqual(
          Array.from(w1.subarray(row * K, (row + 1) * K)),
        );
      });
    } finally {
      m.dispose();
      ref.dispose();
    }
  });

  it('resized after the release (open batch): XNNPACK reshapes without reading the weights again', async () => {
    const open = join(dir, 'fc-open.tflite');
    writeFileSync(open, writeTflite(fcStack(K, N, false, true)));
    const m = await rt.load(open);
    const ref = await kept.load(open);
    try {
      expect(m.releasedWeightBytes).toBeGreaterThanOrEqual(2 * 2 ** 20 - 4 * 4096);
      const x3 = lcgFloats(3 * K, 11);
      const run = async (model: typeof m) => {
        model.resizeInput?.('x', [3, K]);
        const y = (await model.run({ x: { dtype: 'float32', shape: [3, K], data: x3 } })).y!;
        expect(y.shape).toEqual([3, N]);
        return Array.from(y.data as Float32Array);
      };
      const y = await run(m);
      expect(y).toEqual(await run(ref));
      const r = reference(x3.subarray(K, 2 * K)); // row 1
      const scale = Math.max(...r.map(Math.abs));
      for (let i = 0; i < N; i++) expect(Math.abs(y[N + i]! - r[i]!)).toBeLessThan(1e-5 * scale);
    } finally {
      m.dispose();
      ref.dispose();
    }
  });

  it('a run after a freed page was read fails instead of returning outputs computed from zeros', async () => {
    const before = new Set(memfds());
    const m = await rt.load(plain);
    try {
      const fd = memfds().find((f) => !before.has(f))!;
      const { layout } = readTfliteStructure(plain);
      const w1 = layout.bufferOffsets[layout.tensorBuffers[0]![1]!]!;
      const allocated = fstatSync(fd).blocks * 512;
      expect(loadAddon().addon._testTouchFd(fd, w1 + 2 ** 19)).toBeGreaterThan(allocated);
      const err = await m.run(inputs(false)).then(
        () => null,
        (e: unknown) => e,
      );
      expect(isAudiogenError(err) && err.code).toBe('RUNTIME_ERROR');
      expect(String((err as Error).message)).toMatch(/freed after compile/);
    } finally {
      m.dispose();
    }
  });

  it('load/dispose does not leak the memfd (nor its memory); a failed load closes it', async () => {
    const before = memfds().length;
    for (let i = 0; i < 5; i++) (await rt.load(plain)).dispose();
    const bad = join(dir, 'bad-version.tflite');
    const g = fcStack(8, 8, false);
    g.subgraphs[0]!.operators[0]!.version = 99; // LiteRT has no FULLY_CONNECTED v99: compile fails
    writeFileSync(bad, writeTflite(g));
    await expect(rt.load(bad)).rejects.toThrow();
    expect(memfds().length).toBe(before);
  });
});
