// Op profiling (LiteRT's profiler, `profile: true`): the per-node table names what ran — XNNPACK's operators
// and the fused Snake kernels — with their times, every run since load counted once, read after the queued runs.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTflite } from '@audiogen/core/tflite';
import { afterAll, describe, expect, it } from 'vitest';
import { createNativeRuntime } from './index';
import { lcgFloats, snakeModel } from './test-models';

const dir = mkdtempSync(join(tmpdir(), 'audiogen-profile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const T = 256;
const C = 64;
const path = join(dir, 'snake.tflite');
writeFileSync(path, writeTflite(snakeModel(T, C, { residual: 'only-snake' })));
const feed = { x: { dtype: 'float32' as const, shape: [1, T, C], data: lcgFloats(T * C, 3) } };

/** The per-node-type section: node type → times called. */
function calls(summary: string): Map<string, number> {
  const at = summary.indexOf('Summary by node type');
  expect(at).toBeGreaterThan(0);
  const rows = new Map<string, number>();
  for (const line of summary.slice(at).split('\n').slice(2)) {
    if (!line.trim() || line.startsWith('=')) break;
    // [Node type] [count] [avg ms] [avg %] [cdf %] [mem KB] [times called]
    const m = /^\s*(.*?)\s+(\d+)\s+[\d.]+\s+[\d.]+%\s+[\d.]+%\s+[\d.]+\s+(\d+)\s*$/.exec(line);
    if (m) rows.set(m[1]!, Number(m[3]));
  }
  return rows;
}

describe('profile: true', () => {
  it('names each node type with its calls, the fused Snake kernels included, every run since load', async () => {
    const model = await createNativeRuntime({ threads: 2 }).load(path, { profile: true });
    try {
      expect(model.fusedSnakes).toBe(2);
      for (let i = 0; i < 3; i++) await model.run(feed);
      const first = calls(await model.profileSummary());
      expect(first.get('Delegate/Add (ND)')).toBe(3 * 2); // x + b0 and s2 + b1, per run
      expect(first.get('AudiogenSnake')).toBe(3);
      // Named as registered: LiteRT reads the name from the compile options again when it profiles, so the
      // addon keeps them alive with the model (freed, the 16-character name printed as garbage under load).
      expect(first.get('AudiogenAddSnake')).toBe(3);
      expect([...first.values()].reduce((a, b) => a + b, 0)).toBe(3 * 4);
      await model.run(feed);
      const after = calls(await model.profileSummary());
      expect(after.get('AudiogenSnake')).toBe(4); // each run counted once, however often the table is read
    } finally {
      model.dispose();
    }
  });

  it('a model loaded without it says how to profile; a disposed one is DISPOSED; profile must be a boolean', async () => {
    const runtime = createNativeRuntime({ threads: 1 });
    const plain = await runtime.load(path);
    await expect(plain.profileSummary()).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('profile: true'),
    });
    plain.dispose();
    const profiled = await runtime.load(path, { profile: true });
    profiled.dispose();
    await expect(profiled.profileSummary()).rejects.toMatchObject({ code: 'DISPOSED' });
    await expect(runtime.load(path, { profile: 'yes' as unknown as boolean })).rejects.toThrow(
      /profile must be a boolean/,
    );
  });
});
