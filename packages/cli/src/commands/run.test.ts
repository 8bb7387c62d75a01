import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAudiogenError, readNpy, tensor, writeNpy } from '@audiogen/core';
import { describeHost, type HostReport } from '@audiogen/runtime-native';
import { afterAll, describe, expect, it } from 'vitest';
import { runDoctor } from './doctor';
import { type RunCliOptions, runModel } from './run';

const fixture = (n: string) =>
  fileURLToPath(new URL(`../../../runtime-native/fixtures/${n}`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'audiogen-cli-run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const base: RunCliOptions = {
  input: [],
  randomInputs: false,
  seed: 0,
  fp16: false,
  repeat: 1,
  json: true,
  threads: 1,
};

describe('audiogen run', () => {
  it('reads .npy inputs, writes .npy outputs that match the reference', async () => {
    writeFileSync(
      join(dir, 'x.npy'),
      writeNpy(tensor('float32', [1, 4], new Float32Array([1.5, -2, 0.25, 3]))),
    );
    writeFileSync(join(dir, 'y.npy'), writeNpy(tensor('float32', [1, 3], new Float32Array([0.5, 1, -1]))));
    const lines: string[] = [];
    const r = await runModel(
      fixture('add_fc.tflite'),
      {
        ...base,
        input: [`x=${join(dir, 'x.npy')}`, `y=${join(dir, 'y.npy')}`],
        outDir: join(dir, 'out'),
        repeat: 3,
      },
      { stdout: (l) => lines.push(l) },
    );
    expect(r.runMs).toHaveLength(3);
    expect(r.outputs.map((o) => [o.name, o.shape])).toEqual([
      ['z', [1, 3]],
      ['x2', [1, 4]],
    ]);
    const x2 = readNpy(new Uint8Array(readFileSync(join(dir, 'out', 'x2.npy'))));
    expect(Array.from(x2.data as Float32Array)).toEqual([2.25, 4, 0.0625, 9]);
    // reference computed by the Python LiteRT runtime (fixtures/reference.json)
    const z = readNpy(new Uint8Array(readFileSync(join(dir, 'out', 'z.npy'))));
    expect((z.data as Float32Array)[0]).toBeCloseTo(-2.251154661178589, 5);
    expect(JSON.parse(lines.join('\n')).signature).toBe('serving_default');
  });

  it('random inputs are deterministic per seed', async () => {
    const a = await runModel(
      fixture('add_fc.tflite'),
      { ...base, randomInputs: true, seed: 3 },
      { stdout: () => {} },
    );
    const b = await runModel(
      fixture('add_fc.tflite'),
      { ...base, randomInputs: true, seed: 3 },
      { stdout: () => {} },
    );
    const c = await runModel(
      fixture('add_fc.tflite'),
      { ...base, randomInputs: true, seed: 4 },
      { stdout: () => {} },
    );
    expect(a.outputs[0]!.mean).toBe(b.outputs[0]!.mean);
    expect(a.outputs[0]!.mean).not.toBe(c.outputs[0]!.mean);
  });

  it('--repeat is bounded (1e9 used to be accepted and run)', async () => {
    for (const repeat of [0, 1e9, 1.5, 10_001]) {
      await expect(
        runModel(fixture('add_fc.tflite'), { ...base, repeat }, { stdout: () => {} }),
      ).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringMatching(/--repeat must be an integer in \[1, 10000\]/),
      });
    }
  });

  it('typed errors for missing or unknown inputs', async () => {
    const q = { stdout: () => {} };
    await expect(runModel(fixture('add_fc.tflite'), base, q)).rejects.toSatisfy((e) =>
      isAudiogenError(e, 'MISSING_INPUT'),
    );
    const npy = fixture('matmul_a.npy');
    await expect(
      runModel(fixture('add_fc.tflite'), { ...base, input: [`nope=${npy}`] }, q),
    ).rejects.toSatisfy((e) => isAudiogenError(e, 'INVALID_ARGUMENT'));
    // Input files are read before the model loads; a bad one is named.
    await expect(runModel(fixture('add_fc.tflite'), { ...base, input: ['x=a.npy'] }, q)).rejects.toSatisfy(
      (e) => isAudiogenError(e, 'MISSING_FILE') && /--input x: .*a\.npy/.test((e as Error).message),
    );
    const notNpy = fixture('add_fc.tflite');
    await expect(
      runModel(fixture('add_fc.tflite'), { ...base, input: [`x=${notNpy}`] }, q),
    ).rejects.toSatisfy(
      (e) =>
        isAudiogenError(e, 'INVALID_NPY') &&
        (e as Error).message.startsWith(`--input x: ${notNpy}: not a .npy file`) &&
        e.details.path === notNpy,
    );
    await expect(runModel(fixture('add_fc.tflite'), { ...base, input: ['x'] }, q)).rejects.toSatisfy((e) =>
      isAudiogenError(e, 'INVALID_ARGUMENT'),
    );
  });
});

describe('audiogen doctor', () => {
  it('prints the host/engine/GPU report as JSON and text', async () => {
    const lines: string[] = [];
    const r = await runDoctor({ json: true }, { stdout: (l) => lines.push(l) });
    const version = '2.3.0'; // every platform's pin (runtime-native scripts/fetch-litert.mjs)
    expect(JSON.parse(lines.join('\n')).engine.version).toBe(version);
    expect(r.engine.available).toBe(true);
    const text: string[] = [];
    await runDoctor({ json: false }, { stdout: (l) => text.push(l) });
    expect(text.some((l) => l.startsWith(`engine    LiteRT ${version}`))).toBe(true);
    // The GPU section: an adapter where LiteRT's GPU accelerator runs (lavapipe here), else the reason.
    const gpu = JSON.parse(lines.join('\n')).gpu as { available: boolean; adapter?: string; reason?: string };
    const line = text.find((l) => l.startsWith('gpu       '))!;
    if (gpu.available) expect(line).toContain(gpu.adapter ?? 'an adapter');
    else expect(line).toContain(`none: ${gpu.reason}`);
    // What auto picks here, and why: the int8 DiT exactly where the CPU has int8 dot-product instructions.
    const f = r.cpuFeatures;
    const int8 = f.avx512vnni || f.avx_vnni || f.asimddp || f.i8mm || f.sme2 ? 'int8' : 'fp32';
    expect(r.precision.dit.precision).toBe(int8);
    expect(text.find((l) => l.startsWith('precision auto'))).toMatch(
      new RegExp(`^precision auto → DiT ${int8} `),
    );
  });
  it('says what auto picks for a host without VNNI and for a given folder', async () => {
    const zen3 = (): HostReport => ({
      ...describeHost(),
      arch: 'x64',
      cpuFeatures: { avx2: true, fma: true, avx512f: false, avx512vnni: false, avx_vnni: false },
    });
    const text: string[] = [];
    const r = await runDoctor({ json: false }, { stdout: (l) => text.push(l), describe: zen3 });
    expect(r.precision.dit.precision).toBe('fp32');
    expect(r.precision.ditCandidates?.map((d) => d.precision)).toEqual(['fp32', 'int8']);
    expect(text.join('\n')).toMatch(/DiT fp32 .* or int8 .*, the faster here/);
    expect(text.join('\n')).toMatch(/AVX2 without VNNI/);
    await expect(
      runDoctor({ json: true, models: '/nonexistent-folder' }, { stdout: () => {} }),
    ).rejects.toMatchObject({
      code: 'MISSING_FILE',
    });
  });
});
