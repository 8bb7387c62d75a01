// Native memory safety: what a file can make the addon do (issue 12 §2).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAudiogenError } from '@audiogen/core';
import { type Graph, MAX_RANK, writeTflite } from '@audiogen/core/tflite';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleScript } from '../../../test/child-script';
import { createNativeRuntime } from './index';
import { loadAddon } from './native';
import { canSpawnNode } from './test-child';
import { addGraph } from './test-models';

const dir = mkdtempSync(join(tmpdir(), 'audiogen-safety-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const rt = createNativeRuntime({ threads: 1 });
/** z = x + y, every tensor of the given rank (all dimensions 1). */
function addOfRank(rank: number): Graph {
  return addGraph(Array<number>(rank).fill(1), `ADD of rank ${rank}`);
}

describe('tensor rank', () => {
  it('the verifier and the addon share one limit (LiteRT layouts hold 8 dimensions)', () => {
    expect(MAX_RANK).toBe(8);
    expect(loadAddon().addon.maxRank).toBe(MAX_RANK);
  });

  it('rank 8 loads and runs', async () => {
    const m = await rt.load(writeTflite(addOfRank(8)));
    try {
      const x = { dtype: 'float32' as const, shape: Array(8).fill(1), data: Float32Array.of(2) };
      const out = await m.run({ x, y: x });
      expect(out.z?.shape).toEqual(Array(8).fill(1));
      expect(Array.from(out.z?.data as Float32Array)).toEqual([4]);
    } finally {
      m.dispose();
    }
  });

  // Rank 17-51 used to report stack memory as dimensions, rank >= 52 smashed the stack (SIGABRT).
  for (const rank of [9, 20, 60, 127]) {
    it(`rank ${rank} is refused before LiteRT sees it (bytes and file)`, async () => {
      const bytes = writeTflite(addOfRank(rank));
      const path = join(dir, `rank${rank}.tflite`);
      writeFileSync(path, bytes);
      for (const source of [bytes, path]) {
        const e = await rt.load(source).then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(isAudiogenError(e, 'INVALID_TFLITE'), String(e)).toBe(true);
        expect(String((e as Error).message)).toMatch(new RegExp(`rank ${rank}; LiteRT supports at most 8`));
      }
    });
  }
});

// A model file truncated, replaced or deleted while its model is loaded (LiteRT used to map the file:
// SIGBUS on the next run, or during load). Run in a child process so that a signal is observed, not
// suffered.
const CHILD = `
import { truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { createNativeRuntime } from ${JSON.stringify(fileURLToPath(new URL('./index.ts', import.meta.url)))};
import { writeTflite } from ${JSON.stringify(fileURLToPath(new URL('../../core/src/tflite/index.ts', import.meta.url)))};
import { gatherTable } from ${JSON.stringify(fileURLToPath(new URL('./test-models.ts', import.meta.url)))};
const [path, phase] = process.argv.slice(2);
const rt = createNativeRuntime({ threads: 1, modelFiles: process.env.AUDIOGEN_TEST_MODEL_FILES ?? 'copy' });
const original = writeTflite(gatherTable(8192, 256, 0));
const other = writeTflite(gatherTable(8192, 256, 1));
const x = { dtype: 'int32', shape: [4], data: Int32Array.of(0, 1, 4000, 8191) };
const sum = (t) => t.data.reduce((a, b) => a + b, 0);
const report = {};
if (phase === 'between-runs') {
  for (const change of ['truncate', 'replace', 'delete']) {
    writeFileSync(path, original);
    const m = await rt.load(path);
    const before = sum((await m.run({ x })).y);
    if (change === 'truncate') truncateSync(path, 0);
    if (change === 'replace') writeFileSync(path, other.subarray(0, other.length >> 1)); // cp over it, cut short
    if (change === 'delete') unlinkSync(path);
    const after = sum((await m.run({ x })).y);
    report[change] = { before, after };
    m.dispose();
  }
} else {
  // Truncate at spread moments while load() runs: a typed error or a working model, never a signal.
  const outcomes = {};
  for (let i = 0; i < 24; i++) {
    writeFileSync(path, original);
    const loading = rt.load(path).then(
      async (m) => { const s = sum((await m.run({ x })).y); m.dispose(); return 'ok ' + s; },
      (e) => 'error ' + e.code,
    );
    await new Promise((r) => setTimeout(r, i % 6));
    writeFileSync(path, i % 2 ? new Uint8Array(0) : other.subarray(0, 4096));
    const o = await loading;
    outcomes[o] = (outcomes[o] ?? 0) + 1;
  }
  report.outcomes = outcomes;
}
process.stdout.write(JSON.stringify(report));
`;

describe.skipIf(!canSpawnNode)('a model file changed while its model is loaded (child process)', () => {
  const run = async (phase: string) => {
    const script = join(dir, `child-${phase}.ts`);
    const bundle = join(dir, `child-${phase}.mjs`);
    writeFileSync(script, CHILD);
    // The bundle lives in a temp folder: point the addon lookup at this package.
    const here = fileURLToPath(new URL('.', import.meta.url));
    await bundleScript(script, bundle, { dirname: here });
    const r = spawnSync(process.execPath, [bundle, join(dir, `model-${phase}.tflite`), phase], {
      encoding: 'utf8',
      timeout: 100_000,
    });
    expect(r.signal, r.stderr.slice(-2000)).toBe(null);
    expect(r.status, r.stderr.slice(-2000)).toBe(0);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };

  it('truncated, replaced or deleted between runs: the next run gives the same result', async () => {
    const report = (await run('between-runs')) as Record<string, { before: number; after: number }>;
    for (const change of ['truncate', 'replace', 'delete']) {
      expect(report[change]!.after).toBe(report[change]!.before);
    }
    expect(report.truncate!.before).toBe(report.replace!.before);
  });

  it('truncated or replaced during load: a typed error or a working model, never a signal', async () => {
    const { outcomes } = (await run('during-load')) as { outcomes: Record<string, number> };
    const total = Object.values(outcomes).reduce((a, b) => a + b, 0);
    expect(total).toBe(24);
    for (const o of Object.keys(outcomes)) {
      expect(o).toMatch(/^(ok \d+|error (IO_ERROR|INVALID_TFLITE))$/);
    }
  });
});

// LiteRtCreateModelFromBuffer skips the flatbuffer checks of LiteRtCreateModelFromFile: mutant 1086 of this
// sequence (accepted by our verifier) crashed it with SIGSEGV. Bytes and paths now both reach LiteRT through
// its file loader (a private memfd on Linux).
const MUTANTS = `
import { readFileSync, writeFileSync } from 'node:fs';
import { createNativeRuntime } from ${JSON.stringify(fileURLToPath(new URL('./index.ts', import.meta.url)))};
import { MUTATIONS, mutate, rng } from ${JSON.stringify(fileURLToPath(new URL('../../core/src/tflite/fuzz.ts', import.meta.url)))};
const [dir, fixtures, via] = process.argv.slice(2);
const rt = createNativeRuntime({ threads: 1, echoLiteRtErrors: false });
const corpus = ['mlp', 'conv1d', 'attention', 'attention_int8'].map((n) => new Uint8Array(readFileSync(fixtures + n + '.tflite')));
const r = rng(5);
const codes = {};
for (let i = 0; i < 1200; i++) {
  const b = mutate(corpus[i % corpus.length], MUTATIONS[i % MUTATIONS.length], r);
  writeFileSync(dir + '/progress-' + via, String(i));
  const src = via === 'path' ? (writeFileSync(dir + '/m.tflite', b), dir + '/m.tflite') : b;
  try {
    (await rt.load(src)).dispose();
    codes.loaded = (codes.loaded ?? 0) + 1;
  } catch (e) {
    const k = e && e.name === 'AudiogenError' ? e.code : 'untyped ' + e;
    codes[k] = (codes[k] ?? 0) + 1;
  }
}
process.stdout.write(JSON.stringify(codes));
`;

describe.skipIf(!canSpawnNode)('mutated models through load() (child process)', () => {
  for (const via of ['bytes', 'path']) {
    it(`1200 mutants by ${via}: typed errors or loaded models, never a signal`, {
      timeout: 120_000,
    }, async () => {
      const script = join(dir, `mutants-${via}.ts`);
      const bundle = join(dir, `mutants-${via}.mjs`);
      writeFileSync(script, MUTANTS);
      await bundleScript(script, bundle, { dirname: fileURLToPath(new URL('.', import.meta.url)) });
      const fixtures = fileURLToPath(new URL('../../core/fixtures/', import.meta.url));
      const r = spawnSync(process.execPath, [bundle, dir, fixtures, via], {
        encoding: 'utf8',
        timeout: 110_000,
      });
      const at = readFileSync(join(dir, `progress-${via}`), 'utf8');
      expect(
        r.signal,
        `at mutant ${at}, ${r.stdout ? 'after' : 'before'} the report: ${r.stderr.slice(-800)}`,
      ).toBe(null);
      expect(r.status).toBe(0);
      const codes = JSON.parse(r.stdout) as Record<string, number>;
      expect(Object.keys(codes).filter((k) => k.startsWith('untyped'))).toEqual([]);
      expect(Object.values(codes).reduce((a, b) => a + b, 0)).toBe(1200);
    });
  }
});
