// The runtime in worker threads: apps keep generation off the main thread, and a worker may be terminated
// mid-run. Each case runs in a child node so a crash (the old failure: SIGSEGV at exit after a worker used
// the addon, SIGABRT when a worker was terminated during a run) fails the test instead of the test runner.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { canSpawnNode } from './test-child';

const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const core = fileURLToPath(new URL('../../core/dist/index.js', import.meta.url));
const fixture = (f: string) => fileURLToPath(new URL(`../fixtures/${f}`, import.meta.url));

/** Runs `main` (an ES module body) in a fresh node; WORKER(code) starts `code` in a worker thread. */
function child(main: string): { status: number | null; signal: string | null; out: string; err: string } {
  const prelude = `
    import { Worker } from 'node:worker_threads';
    const DIST = ${JSON.stringify(dist)}, CORE = ${JSON.stringify(core)};
    const WORKER = (code) => new Worker(code, { eval: true });
    const settle = (w) => new Promise((res, rej) => { w.on('message', res); w.on('error', rej); });
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', prelude + main], {
    encoding: 'utf8',
    timeout: 90_000,
  });
  return { status: r.status, signal: r.signal, out: r.stdout, err: r.stderr };
}

/** A worker body: loads `model`, runs it `runs` times on a 512×512 input, posts the first output's sum. */
const workerCode = (model: string, runs: number, post: boolean) => `
  (async () => {
    const { parentPort } = await import('node:worker_threads');
    const { createNativeRuntime } = await import(${JSON.stringify(dist)});
    const { tensor } = await import(${JSON.stringify(core)});
    const m = await createNativeRuntime({ threads: 1 }).load(${JSON.stringify(model)});
    const n = 512, a = tensor('float32', [1, n, n], new Float32Array(n * n).fill(0.5));
    parentPort.postMessage('started');
    const runs = [];
    for (let i = 0; i < ${runs}; i++) runs.push(m.run({ a, b: a }));
    const r = await Promise.all(runs);
    ${post ? 'parentPort.postMessage(r[0].y.data.reduce((s, v) => s + v, 0)); m.dispose();' : ''}
  })();`;

describe.skipIf(!canSpawnNode)('worker threads (child process)', () => {
  it('main thread and two workers run the same model at once with equal results; the process exits cleanly', () => {
    const model = fixture('matmul_chain.tflite');
    const r = child(`
      const { createNativeRuntime } = await import(DIST);
      const { tensor } = await import(CORE);
      const n = 512, a = tensor('float32', [1, n, n], new Float32Array(n * n).fill(0.5));
      const ws = [WORKER(${JSON.stringify(workerCode(model, 1, true))}), WORKER(${JSON.stringify(workerCode(model, 1, true))})];
      const sums = ws.map((w) => new Promise((res, rej) => { w.on('message', (m) => m !== 'started' && res(m)); w.on('error', rej); }));
      const m = await createNativeRuntime({ threads: 1 }).load(${JSON.stringify(model)});
      const mine = (await m.run({ a, b: a })).y.data.reduce((s, v) => s + v, 0);
      const theirs = await Promise.all(sums);
      await Promise.all(ws.map((w) => w.terminate()));
      m.dispose();
      console.log(JSON.stringify([mine, ...theirs]));
    `);
    expect({ status: r.status, signal: r.signal }, r.err).toEqual({ status: 0, signal: null });
    const sums = JSON.parse(r.out.trim()) as number[];
    expect(sums).toHaveLength(3);
    expect(Number.isFinite(sums[0])).toBe(true);
    expect(new Set(sums).size).toBe(1);
  });

  it('a worker terminated during runs does not take the process down, and the main thread keeps working', () => {
    const r = child(`
      const w = WORKER(${JSON.stringify(workerCode(fixture('matmul_chain.tflite'), 3, false))});
      await settle(w);                              // 'started': three runs are in flight
      await new Promise((res) => setTimeout(res, 20));
      await w.terminate();
      const { createNativeRuntime } = await import(DIST);
      const { tensor } = await import(CORE);
      const m = await createNativeRuntime({ threads: 1 }).load(${JSON.stringify(fixture('add_fc.tflite'))});
      const sig = m.signatures[0];
      const inputs = Object.fromEntries(sig.inputs.map((t) => [t.name, tensor(t.dtype, t.shape, new Float32Array(t.shape.reduce((p, d) => p * d, 1)))]));
      await m.run(inputs);
      m.dispose();
      console.log('alive');
    `);
    expect({ status: r.status, signal: r.signal }, r.err).toEqual({ status: 0, signal: null });
    expect(r.out.trim()).toBe('alive');
  });
});
