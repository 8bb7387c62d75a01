import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeRandomStableAudioFolder } from '@audiogen/convert';
import { trackModels } from '@audiogen/core/test';
import { createNativeRuntime } from '@audiogen/runtime-native';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProgram } from '../index';
import { type BenchCliOptions, runBench } from './bench';
import { runSamplers } from './samplers';

describe('audiogen bench', () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'audiogen-cli-bench-'));
    await writeRandomStableAudioFolder({ out: dir, tiny: true, seed: 2 });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const base: BenchCliOptions = { runs: 2, seed: 1, prompt: 'rain', json: true, progress: false, steps: 3 };

  it('times the full pipeline: per stage, DiT per step, real-time factor, peak RSS, host and LiteRT build', async () => {
    const lines: string[] = [];
    const t = trackModels(createNativeRuntime());
    const r = await runBench(
      dir,
      { ...base, threads: 1 },
      { createRuntime: () => t.rt, stdout: (l) => lines.push(l) },
    );
    expect(JSON.parse(lines.join(''))).toEqual(JSON.parse(JSON.stringify(r)));
    expect(t.models.map((m) => m.label)).toEqual(['conditioners', 'dit', 'decoder']); // no encoder
    expect(r.runs.length).toBe(2);
    for (const run of r.runs) {
      expect(run.stepMs.length).toBe(3);
      expect(run.encodeMs).toBeGreaterThan(0);
      expect(run.decodeMs).toBeGreaterThan(0);
      // The tiny decoder's receptive field (42 latent frames) is longer than its clip: every frame decoded.
      expect(run.decodedFrames).toEqual({ latent: 32, total: 32 });
      expect(run.realTimeFactor).toBeCloseTo(run.totalMs / 1000 / r.audioSeconds, 9);
    }
    expect(Object.keys(r.loadMs)).toEqual(['conditioners', 'dit', 'decoder']);
    expect(r.loadTotalMs).toBeGreaterThan(0);
    expect(r.peakRssBytes).toBeGreaterThan(50e6);
    expect(r.host.cpuModel.length).toBeGreaterThan(0);
    expect(r.host.cpuFlags.length).toBeGreaterThan(0);
    expect(r.litert.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(r.config).toMatchObject({ threads: 1, steps: 3, residency: 'all', runs: 2 });
    expect(r.models.map((m) => m.role)).toEqual(['conditioners', 'dit', 'decoder']);
    // The precision run and why (this folder has only the float files), and the process CPU time.
    expect(r.precision).toMatchObject({ requested: 'auto', dit: 'fp32', decoder: 'fp32' });
    expect(r.precision.reasons.length).toBeGreaterThan(0);
    expect(r.median.cpuMs).toBeGreaterThan(0);
    expect(r.models.every((m) => (m.weights.FLOAT32 ?? 0) > 0)).toBe(true);
    // Human form: one row per field.
    const text: string[] = [];
    await runBench(dir, { ...base, runs: 1, json: false }, { stdout: (l) => text.push(l) });
    for (const k of ['host', 'cpu flags', 'litert', 'load', 'T5', 'DiT', 'decoder', 'real-time', 'peak RSS'])
      expect(text.some((l) => l.startsWith(`${k.padEnd(13)} `))).toBe(true);
  });

  it("--profile: each stage's node times by type (LiteRT's table), in the report and printed; not with --low-memory", async () => {
    const r = await runBench(dir, { ...base, threads: 1, profile: true }, { stdout: () => {} });
    expect(Object.keys(r.profiles ?? {})).toEqual(['conditioners', 'dit', 'decoder']);
    // XNNPACK's operators by name, called once per run (2 runs) or per step (3 steps × 2 runs).
    expect(r.profiles?.conditioners).toMatch(/Fully Connected \(NC, F32\) GEMM/);
    const fc =
      /Delegate\/Fully Connected \(NC, F32\) GEMM\s+\d+\s+[\d.]+\s+[\d.]+%\s+[\d.]+%\s+[\d.]+\s+(\d+)/.exec(
        r.profiles?.dit ?? '',
      );
    expect(fc).not.toBeNull();
    expect(Number(fc![1]) % 6).toBe(0); // every FC of the DiT, 6 times
    const text: string[] = [];
    await runBench(dir, { ...base, runs: 1, json: false, profile: true }, { stdout: (l) => text.push(l) });
    expect(text).toContain('profile: dit, by node type, over 1 run(s) (--json has the whole table)');
    expect(text.some((l) => /Delegate\/Fully Connected/.test(l))).toBe(true);
    await expect(
      runBench(dir, { ...base, profile: true, lowMemory: true }, { stdout: () => {} }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining("profile needs residency 'all'"),
    });
  });

  it('checks its options before loading; registered on the program', async () => {
    const t = trackModels(createNativeRuntime());
    await expect(runBench(dir, { ...base, seconds: 0 }, { createRuntime: () => t.rt })).rejects.toMatchObject(
      {
        code: 'INVALID_ARGUMENT',
        message: expect.stringMatching(/^--seconds must be in/),
      },
    );
    expect(t.models.length).toBe(0);
    const names = createProgram().commands.map((c) => c.name());
    expect(names).toContain('bench');
    expect(names).toContain('samplers');
  });
});

describe('audiogen samplers', () => {
  it('lists samplers, schedules and noises with descriptions, as text or JSON', () => {
    const json: string[] = [];
    const l = runSamplers({ json: true }, { stdout: (x) => json.push(x) });
    expect(JSON.parse(json[0]!)).toEqual(l);
    expect(l.samplers.map((s) => s.name)).toEqual(['dpmpp', 'euler', 'pingpong', 'pingpong-fma', 'rk4']);
    expect(l.schedules.map((s) => s.name)).toEqual(['rf', 'arm-f32']);
    expect(l.noises.map((s) => s.name)).toEqual(['philox', 'arm-mt19937']);
    for (const row of [...l.samplers, ...l.schedules, ...l.noises])
      expect(row.description.length).toBeGreaterThan(10);
    const text: string[] = [];
    runSamplers({}, { stdout: (x) => text.push(x) });
    expect(text[0]).toBe('samplers (--sampler)');
    expect(text).toContain('schedules (--schedule)');
    expect(text.some((x) => /^ {2}arm-f32 +the same times computed as Arm's C\+\+ fill_sigmas/.test(x))).toBe(
      true,
    );
  });
});
