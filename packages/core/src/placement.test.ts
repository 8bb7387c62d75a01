import { chmodSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AudiogenError } from './errors';
import type { LoadOptions, Model, Runtime, TensorInfo } from './interfaces';
import { pickFasterModel } from './placement';
import { tensor } from './tensor';

/**
 * A runtime whose models busy-wait `costMs[file]` per run (10× apart, so the order cannot flip), recording
 * every load, run and dispose.
 */
function slowRuntime(costMs: Record<string, number>, failLoad?: string) {
  const events: string[] = [];
  const input: TensorInfo = { name: 'x', dtype: 'float32', shape: [1, 4] };
  const runtime: Runtime = {
    name: 'slow',
    host: { arch: 'x64', features: { avx2: true } },
    async load(source: string | Uint8Array, _options?: LoadOptions): Promise<Model> {
      const file = String(source).split('/').at(-1)!;
      if (file === failLoad) throw new AudiogenError('INVALID_MODEL', `${file} is broken`);
      events.push(`load ${file}`);
      const m = {
        label: file,
        disposed: false,
        inputs: [input],
        outputs: [input],
        signatures: [{ key: 'serving_default', inputs: [input], outputs: [input] }],
        async run() {
          events.push(`run ${file}`);
          const end = performance.now() + costMs[file]!;
          while (performance.now() < end) {}
          return { x: tensor('float32', [1, 4]) };
        },
        dispose() {
          events.push(`dispose ${file}`);
          m.disposed = true;
        },
      };
      return m as unknown as Model;
    },
  };
  return { runtime, events };
}

describe('pickFasterModel', () => {
  const dir = mkdtempSync(join(tmpdir(), 'audiogen-faster-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const a = join(dir, 'a.tflite');
  const b = join(dir, 'b.tflite');
  writeFileSync(a, 'aaaa');
  writeFileSync(b, 'bbbb');
  const candidates = [
    { id: 'fp32', path: a },
    { id: 'int8', path: b },
  ];

  it('times a warm run of each, keeps the fastest, disposes the rest, and caches the decision', async () => {
    const cacheFile = join(dir, 'cache', 'placement.json');
    const slow = slowRuntime({ 'a.tflite': 30, 'b.tflite': 3 });
    const first = await pickFasterModel(slow.runtime, candidates, { threads: 2 }, { cacheFile });
    expect(first.choice).toMatchObject({ id: 'int8', source: 'measured' });
    expect(first.choice.ms.fp32).toBeGreaterThanOrEqual(30);
    expect(first.choice.ms.int8).toBeLessThan(first.choice.ms.fp32!);
    expect(first.model.label).toBe('b.tflite');
    expect(first.model.disposed).toBe(false);
    // One warm-up and two timed runs each; the slower is disposed once the faster is known.
    expect(slow.events).toEqual([
      'load a.tflite',
      ...Array(3).fill('run a.tflite'),
      'load b.tflite',
      ...Array(3).fill('run b.tflite'),
      'dispose a.tflite',
    ]);
    // Cached: only the winner is loaded, nothing runs.
    const again = slowRuntime({ 'a.tflite': 30, 'b.tflite': 3 });
    const second = await pickFasterModel(again.runtime, candidates, { threads: 2 }, { cacheFile });
    expect(second.choice).toEqual({ ...first.choice, source: 'cached' });
    expect(again.events).toEqual(['load b.tflite']);
    // Another thread count, a changed file or remeasure: measured again.
    const other = slowRuntime({ 'a.tflite': 3, 'b.tflite': 30 });
    expect(
      (await pickFasterModel(other.runtime, candidates, { threads: 1 }, { cacheFile })).choice,
    ).toMatchObject({
      id: 'fp32',
      source: 'measured',
    });
    utimesSync(b, new Date(), new Date(Date.now() + 5000));
    expect(
      (await pickFasterModel(other.runtime, candidates, { threads: 2 }, { cacheFile })).choice,
    ).toMatchObject({
      id: 'fp32',
      source: 'measured',
    });
    const re = await pickFasterModel(
      slowRuntime({ 'a.tflite': 30, 'b.tflite': 3 }).runtime,
      candidates,
      { threads: 2 },
      { cacheFile, remeasure: true },
    );
    expect(re.choice).toMatchObject({ id: 'int8', source: 'measured' });
  });

  it('a cache that cannot be written still returns the chosen model, saying why', async () => {
    if (process.getuid?.() === 0) {
      // root writes through permissions: a file in the cache's place makes its folder impossible instead.
      writeFileSync(join(dir, 'blocker'), '');
    }
    const cacheFile =
      process.getuid?.() === 0 ? join(dir, 'blocker', 'placement.json') : join(dir, 'ro', 'placement.json');
    if (process.getuid?.() !== 0) {
      mkdirSync(join(dir, 'ro'));
      chmodSync(join(dir, 'ro'), 0o500);
    }
    const slow = slowRuntime({ 'a.tflite': 30, 'b.tflite': 3 });
    const r = await pickFasterModel(slow.runtime, candidates, {}, { cacheFile });
    expect(r.choice.id).toBe('int8');
    expect(r.choice.cacheError).toMatch(/\S/);
    expect(r.model.disposed).toBe(false);
  });

  it('a candidate that fails to load fails the pick, with every loaded model disposed', async () => {
    const slow = slowRuntime({ 'a.tflite': 3, 'b.tflite': 3 }, 'b.tflite');
    await expect(pickFasterModel(slow.runtime, candidates, {})).rejects.toMatchObject({
      code: 'INVALID_MODEL',
    });
    expect(slow.events.at(-1)).toBe('dispose a.tflite');
    await expect(pickFasterModel(slow.runtime, [], {})).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
