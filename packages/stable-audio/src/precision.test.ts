import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { writeRandomStableAudioFolder } from '@audiogen/convert';
import { type HostCpu, isAudiogenError } from '@audiogen/core';
import { createNativeRuntime } from '@audiogen/runtime-native';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelFolder, type StableAudioModelFiles, weightPrecisionOf } from './folder';
import { createStableAudioPipeline } from './pipeline';
import {
  choosePrecision,
  describePrecision,
  fp16Arithmetic,
  int8Verdict,
  withMeasuredDit,
  withoutDitTiming,
} from './precision';

const cpu = (arch: string, ...on: string[]): HostCpu => ({
  arch,
  features: Object.fromEntries(['avx2', 'avx512f', 'asimd', ...on].map((f) => [f, true])),
});
// Feature sets as /proc/cpuinfo reports them (runtime-native's hostCpu names).
const ZEN4 = cpu('x64', 'avx512vnni', 'avx512bf16');
const ZEN3 = { arch: 'x64', features: { avx2: true, fma: true, avx512f: false, avx512vnni: false } };
const ALDER_LAKE = { arch: 'x64', features: { avx2: true, avx_vnni: true } };
const GRAVITON3 = cpu('arm64', 'asimddp', 'i8mm', 'asimdhp', 'fphp');
const CORTEX_A53 = { arch: 'arm64', features: { asimd: true } };
const M4 = cpu('arm64', 'asimddp', 'i8mm', 'asimdhp', 'sme2');
const UNKNOWN_X64: HostCpu = { arch: 'x64', features: {} };

const files = (extra: Partial<StableAudioModelFiles['variants']> = {}): StableAudioModelFiles => ({
  conditioners: 'f/conditioners.tflite',
  dit: 'f/dit_model.tflite',
  decoder: 'f/autoencoder_model.tflite',
  tokenizer: 'f/spiece.model',
  variants: {
    dit: { fp32: 'f/dit_model.tflite', int8: 'f/dit_model.int8.tflite' },
    decoder: { fp32: 'f/autoencoder_model.tflite', int8: 'f/autoencoder_model.int8.tflite' },
    ...extra,
  },
});

describe('int8Verdict / fp16Arithmetic', () => {
  it('pays where the CPU has int8 dot-product instructions, never on AVX2-only or unknown CPUs', () => {
    expect(int8Verdict(ZEN4)).toMatchObject({ pays: true, kernels: 'AVX512-VNNI' });
    expect(int8Verdict(ALDER_LAKE)).toMatchObject({ pays: true, kernels: 'AVX-VNNI' });
    // AVX2 without VNNI: it depends on the core (0.80–0.87× on a Zen 4 core's AVX2 kernels, 1.05× on a Zen 3).
    expect(int8Verdict(ZEN3)).toMatchObject({ pays: false, measure: true, kernels: 'AVX2' });
    expect(int8Verdict(ZEN3).why).toMatch(/AVX2 without VNNI.*depends on the core/);
    expect(int8Verdict({ arch: 'x64', features: { sse4_2: true, avx: true } })).toMatchObject({
      pays: false,
      measure: false,
    });
    expect(int8Verdict(ZEN4).measure).toBe(false);
    expect(int8Verdict(M4)).toMatchObject({ pays: true, kernels: 'SME2' });
    expect(int8Verdict(GRAVITON3)).toMatchObject({ pays: true, kernels: 'i8mm' });
    expect(int8Verdict({ arch: 'arm64', features: { asimddp: true } })).toMatchObject({ kernels: 'dotprod' });
    expect(int8Verdict(CORTEX_A53).pays).toBe(false);
    expect(int8Verdict(UNKNOWN_X64)).toMatchObject({ pays: false, why: expect.stringMatching(/unknown/) });
    expect(int8Verdict(undefined).pays).toBe(false);
  });
  it('fp16 arithmetic only on Arm CPUs that report it', () => {
    expect(fp16Arithmetic(GRAVITON3)).toBe(true);
    expect(fp16Arithmetic(CORTEX_A53)).toBe(false);
    expect(fp16Arithmetic(ZEN4)).toBe(false);
    expect(fp16Arithmetic({ arch: 'arm64', features: {} })).toBe(true); // unknown arm64: Arm's sample default
  });
});

describe('choosePrecision', () => {
  it("auto: int8 DiT where int8 pays, fp32 elsewhere; the decoder stays float ('fast' is the int8 one)", () => {
    const z4 = choosePrecision(files(), 'auto', ZEN4);
    expect([z4.dit.path, z4.decoder.path, z4.decoder.forceFp16]).toEqual([
      'f/dit_model.int8.tflite',
      'f/autoencoder_model.tflite',
      false,
    ]);
    expect(z4.reasons[0]).toMatch(/DiT int8: AVX512-VNNI/);
    expect(describePrecision(z4)).toBe(
      'DiT int8 (dit_model.int8.tflite), decoder fp32 (autoencoder_model.tflite)',
    );
    for (const host of [ZEN3, CORTEX_A53, UNKNOWN_X64, undefined]) {
      const c = choosePrecision(files(), 'auto', host);
      expect(c.dit).toEqual({ path: 'f/dit_model.tflite', precision: 'fp32' });
      expect(c.decoder.precision).toBe('fp32');
      expect(c.ditCandidates).toEqual(
        host === ZEN3 ? [c.dit, { path: 'f/dit_model.int8.tflite', precision: 'int8' }] : undefined,
      );
    }
    // AVX2 without VNNI: both DiTs are timed at load; until then the float one is the default.
    const z3 = choosePrecision(files(), 'auto', ZEN3);
    expect(z3.reasons[0]).toMatch(/^DiT fp32 or int8, whichever runs a step faster on this machine/);
    expect(describePrecision(z3)).toBe(
      'DiT fp32 (dit_model.tflite) or int8 (dit_model.int8.tflite), the faster here, decoder fp32 (autoencoder_model.tflite)',
    );
    const picked = withMeasuredDit(z3, z3.ditCandidates![1]!, {
      source: 'cached',
      ms: { fp32: 812.4, int8: 690.2 },
      at: '2026-12-07T02:00:00.000Z',
    });
    expect(picked.ditCandidates).toBeUndefined();
    expect(picked.dit.precision).toBe('int8');
    expect(picked.reasons[0]).toBe(
      'DiT int8: the faster here by one warm step (fp32 812 ms, int8 690 ms; measured 2026-12-07, cached)',
    );
    // A DiT asked to run off the CPU is not timed: the float default, said so.
    const off = withoutDitTiming(z3, "the DiT's accelerator is 'gpu'");
    expect([off.ditCandidates, off.dit.precision, off.reasons[0]]).toEqual([
      undefined,
      'fp32',
      "DiT fp32: the DiT's accelerator is 'gpu'",
    ]);
    // Without both files there is nothing to time.
    expect(
      choosePrecision(files({ dit: { fp32: 'f/dit_model.tflite' } }), 'auto', ZEN3).ditCandidates,
    ).toBeUndefined();
    const g3 = choosePrecision(files(), 'auto', GRAVITON3);
    expect([g3.dit.precision, g3.decoder.precision, g3.decoder.forceFp16]).toEqual(['int8', 'fp32', true]);
    expect(g3.reasons.at(-1)).toMatch(/fp16 arithmetic/);
  });
  it('auto falls back to what the folder has and says why', () => {
    const only32 = files({ dit: { fp32: 'f/dit_model.tflite' } });
    const c = choosePrecision(only32, 'auto', ZEN4);
    expect(c.dit.precision).toBe('fp32');
    expect(c.reasons[0]).toMatch(/no dit_model\.int8\.tflite.*--preset auto/);
    // Arm's folder: dit_model.tflite holds int8 weights and is the only DiT: used even where int8 does not pay.
    const arm = files({ dit: { int8: 'f/dit_model.tflite' } });
    expect(choosePrecision(arm, 'auto', ZEN3).dit).toEqual({ path: 'f/dit_model.tflite', precision: 'int8' });
    // A folder with no variants information (built by hand) uses its default files.
    const plain = { ...files(), variants: undefined };
    expect(choosePrecision(plain, 'auto', ZEN4).dit.path).toBe('f/dit_model.tflite');
  });
  it('fast, int8 and fp32 pick their files or name the missing one', () => {
    const fast = choosePrecision(files(), 'fast', ZEN4);
    expect([fast.dit.precision, fast.decoder.precision, fast.decoder.forceFp16]).toEqual([
      'int8',
      'int8',
      false,
    ]);
    expect(choosePrecision(files(), 'fast', GRAVITON3).decoder.forceFp16).toBe(false); // never on int8
    // The fused Snake only for the int8 decoder (its memory would take auto's float decoder past 2.5 GB).
    expect(fast.decoder.fuseSnake).toBe(true);
    // An explicit decoderFuseSnake wins over the per-CPU policy (benchmarks A/B it), and says so.
    const forced = choosePrecision(files(), 'fast', ZEN3, { decoderFuseSnake: true });
    expect(forced.decoder.fuseSnake).toBe(true);
    expect(forced.reasons).toContain('decoder Snakes fused into one op each: requested');
    expect(choosePrecision(files(), 'fast', ZEN4, { decoderFuseSnake: false }).decoder.fuseSnake).toBe(false);
    // Only with AVX-512 (1.08× the int8 decoder's time with the AVX2 kernels; Arm not measured).
    for (const host of [ZEN3, GRAVITON3, M4, UNKNOWN_X64]) {
      const c = choosePrecision(files(), 'fast', host);
      expect(c.decoder.fuseSnake).toBe(false);
      expect(c.reasons.join(' ')).toMatch(/pays only with AVX-512/);
    }
    expect(choosePrecision(files(), 'auto', ZEN4).decoder.fuseSnake).toBe(false);
    expect(choosePrecision(files(), 'fp32', ZEN4).decoder.fuseSnake).toBe(false);
    const i8 = choosePrecision(files(), 'int8', ZEN3);
    expect([i8.dit.precision, i8.decoder.precision]).toEqual(['int8', 'fp32']);
    expect(i8.reasons.join(' ')).toMatch(/may not be faster/);
    const f32 = choosePrecision(files(), 'fp32', GRAVITON3);
    expect([f32.dit.precision, f32.decoder.precision, f32.decoder.forceFp16]).toEqual([
      'fp32',
      'fp32',
      false,
    ]);
    expect(choosePrecision(files(), 'fp32', ZEN4, { decoderFp16: true }).decoder.forceFp16).toBe(true);
    const noDec8 = files({ decoder: { fp32: 'f/autoencoder_model.tflite' } });
    try {
      choosePrecision(noDec8, 'fast', ZEN4);
      expect.unreachable();
    } catch (e) {
      expect(isAudiogenError(e, 'MISSING_FILE')).toBe(true);
      expect((e as Error).message).toMatch(/autoencoder_model\.int8\.tflite.*--preset fast/);
    }
    expect(() => choosePrecision(files({ dit: { int8: 'x' } }), 'fp32', ZEN4)).toThrow(/dit_model\.tflite/);
    expect(() => choosePrecision(files(), 'turbo' as never, ZEN4)).toThrow(/precision must be one of/);
  });
});

// The real thing: a tiny converter-made folder with quantized variants beside the float files.
describe('model folder variants through LiteRT', () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'audiogen-precision-'));
    await writeRandomStableAudioFolder({ out: dir, tiny: true, seed: 5, encoder: false });
    const { quantizeFile } = await import('@audiogen/quantize');
    await quantizeFile(join(dir, 'dit_model.tflite'), join(dir, 'dit_model.int8.tflite'), 'sao-dit-int8');
    await quantizeFile(
      join(dir, 'autoencoder_model.tflite'),
      join(dir, 'autoencoder_model.int8.tflite'),
      'sao-decoder-int8',
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds the variants and reads each file’s weight precision from its tables', async () => {
    const f = await loadModelFolder(dir);
    expect(f.files.variants!.dit).toEqual({
      fp32: join(dir, 'dit_model.tflite'),
      int8: join(dir, 'dit_model.int8.tflite'),
    });
    expect(Object.keys(f.files.variants!.decoder).sort()).toEqual(['fp32', 'int8']);
    expect(weightPrecisionOf(join(dir, 'dit_model.int8.tflite'))).toBe('int8');
    expect(weightPrecisionOf(join(dir, 'spiece.model'))).toBeUndefined();
  });

  it('an Arm-style folder whose only DiT is int8 is recognised as such', async () => {
    const arm = mkdtempSync(join(tmpdir(), 'audiogen-precision-arm-'));
    try {
      for (const n of ['conditioners.tflite', 'autoencoder_model.tflite', 'spiece.model'])
        copyFileSync(join(dir, n), join(arm, n));
      copyFileSync(join(dir, 'dit_model.int8.tflite'), join(arm, 'dit_model.tflite'));
      const f = await loadModelFolder(arm);
      expect(f.files.variants!.dit).toEqual({ int8: join(arm, 'dit_model.tflite') });
      // Only the int8 file, written by `convert --dit-int8`: still a complete folder.
      rmSync(join(arm, 'dit_model.tflite'));
      copyFileSync(join(dir, 'dit_model.int8.tflite'), join(arm, 'dit_model.int8.tflite'));
      expect((await loadModelFolder(arm)).files.dit).toBe(join(arm, 'dit_model.int8.tflite'));
    } finally {
      rmSync(arm, { recursive: true, force: true });
    }
  });

  it('the pipeline loads the files its precision names and reports them', async () => {
    const runtime = createNativeRuntime();
    const loaded: string[] = [];
    const load = runtime.load.bind(runtime);
    runtime.load = (src, o) => {
      loaded.push(typeof src === 'string' ? basename(src) : '(bytes)');
      return load(src, o);
    };
    const placementCache = join(dir, 'placement.json');
    const run = async (precision: 'auto' | 'fast' | 'fp32', host: HostCpu) => {
      loaded.length = 0;
      const p = await createStableAudioPipeline({
        models: dir,
        runtime,
        threads: 1,
        precision,
        host,
        placementCache,
      });
      try {
        const r = await p.generate({ prompt: 'rain', seconds: p.maxSeconds, seed: 7 });
        return { choice: p.precision, files: [...loaded], audio: r.clips[0]!.clip.channels[0]! };
      } finally {
        p.dispose();
      }
    };
    const fp32 = await run('fp32', ZEN4);
    expect(fp32.files).toEqual(['conditioners.tflite', 'dit_model.tflite', 'autoencoder_model.tflite']);
    const auto = await run('auto', ZEN4);
    expect(auto.files).toEqual(['conditioners.tflite', 'dit_model.int8.tflite', 'autoencoder_model.tflite']);
    expect(auto.choice.dit.precision).toBe('int8');
    // AVX2 without VNNI: both DiTs loaded and timed, the faster kept and reported; then cached.
    const z3 = await run('auto', ZEN3);
    expect(z3.files).toEqual([
      'conditioners.tflite',
      'dit_model.tflite',
      'dit_model.int8.tflite',
      'autoencoder_model.tflite',
    ]);
    const m = z3.choice.ditMeasured!;
    expect(m.source).toBe('measured');
    const faster = m.ms.int8! < m.ms.fp32! ? 'int8' : 'fp32';
    expect(z3.choice.dit.precision).toBe(faster);
    expect(z3.choice.reasons[0]).toMatch(
      /^DiT (fp32|int8): the faster here by one warm step \(fp32 \d+ ms, int8 \d+ ms; measured now\)$/,
    );
    const z3again = await run('auto', ZEN3);
    expect(z3again.files[1]).toBe(basename(z3.choice.dit.path));
    expect(z3again.files).toHaveLength(3);
    expect(z3again.choice.ditMeasured).toEqual({ ...m, source: 'cached' });
    const fast = await run('fast', ZEN3);
    expect(fast.files.slice(1)).toEqual(['dit_model.int8.tflite', 'autoencoder_model.int8.tflite']);
    for (const r of [auto, fast]) {
      expect(r.audio.every(Number.isFinite)).toBe(true);
      expect(r.audio).not.toEqual(fp32.audio); // another model ran
    }
  });
});
