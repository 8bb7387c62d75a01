/**
 * Which precision of each model a pipeline runs, per host. Policy only: the facts it rests on were
 * measured on this family's full-size graphs (docs in the README, "Precision per machine").
 */

import { basename } from 'node:path';
import { AudiogenError, type FasterChoice, type HostCpu } from '@audiogen/core';
import type { ModelVariants, StableAudioModelFiles, WeightPrecision } from './folder';

/**
 * - `auto` (default): the int8 DiT where this CPU has int8 dot-product kernels that pay (x86 AVX512-VNNI /
 *   AVX-VNNI, Arm dotprod / i8mm / SME2), the float DiT elsewhere; always a float decoder (FORCE_FP16 on Arm
 *   CPUs with fp16 arithmetic). Only choices validated for quality: the int8 DiT, never the int8 decoder.
 * - `fast`: the int8 DiT and the int8 decoder preset (a measured quality cost: see the README).
 * - `int8`: the int8 DiT and a float decoder, whatever the CPU.
 * - `fp32`: the float files only.
 */
export type PrecisionRequest = 'auto' | 'fast' | 'int8' | 'fp32';
export const PRECISIONS: readonly PrecisionRequest[] = ['auto', 'fast', 'int8', 'fp32'];

export interface Int8Verdict {
  /** True when int8 dynamic-range GEMMs are expected to beat fp32 on this CPU. */
  pays: boolean;
  /**
   * True where it depends on the core, not the instruction set (x86 AVX2 without VNNI): `auto` times both DiTs
   * once on the machine (cached) and keeps the faster.
   */
  measure: boolean;
  /** The instruction family the int8 kernels use here ('' when none pays or the CPU is unknown). */
  kernels: string;
  why: string;
}

const has = (cpu: HostCpu | undefined, ...names: string[]) => names.some((n) => cpu?.features[n] === true);
const known = (cpu: HostCpu | undefined) => !!cpu && Object.keys(cpu.features).length > 0;

/** Whether int8 dynamic-range (qd8) matrix kernels pay on this CPU, and why. */
export function int8Verdict(cpu: HostCpu | undefined): Int8Verdict {
  if (!known(cpu))
    return {
      pays: false,
      measure: false,
      kernels: '',
      why: 'the CPU features are unknown here, so fp32 (never slower) is kept',
    };
  if (cpu!.arch === 'x64') {
    if (has(cpu, 'avx512vnni'))
      return {
        pays: true,
        measure: false,
        kernels: 'AVX512-VNNI',
        why: 'AVX512-VNNI: XNNPACK int8 GEMMs run at ~4× the fp32 rate (int8 DiT step 0.31× the fp32 CPU time, measured on Zen 4)',
      };
    if (has(cpu, 'avx_vnni'))
      return {
        pays: true,
        measure: false,
        kernels: 'AVX-VNNI',
        why: 'AVX-VNNI: XNNPACK int8 GEMMs use the VNNI dot-product instructions',
      };
    if (has(cpu, 'avx2') && has(cpu, 'fma'))
      return {
        pays: false,
        measure: true,
        kernels: 'AVX2',
        why: "AVX2 without VNNI: XNNPACK's int8 GEMMs have no dot-product instruction, and whether they beat fp32 depends on the core (int8 DiT step 0.80–0.87× fp32 with the AVX2 kernels on a Zen 4 core, LiteRT 2.1.6 and 2.3.0; 1.05× on a Zen 3 with 2.1.6)",
      };
    return {
      pays: false,
      measure: false,
      kernels: '',
      why: 'no AVX2 or VNNI: fp32 is kept (the int8 kernels of older x86 CPUs were not measured)',
    };
  }
  if (cpu!.arch === 'arm64') {
    if (has(cpu, 'sme2'))
      return {
        pays: true,
        measure: false,
        kernels: 'SME2',
        why: 'SME2: KleidiAI int8 matmul kernels (Arm reports ~3× fp32)',
      };
    if (has(cpu, 'i8mm'))
      return {
        pays: true,
        measure: false,
        kernels: 'i8mm',
        why: 'i8mm: KleidiAI int8 matrix-multiply kernels',
      };
    if (has(cpu, 'asimddp', 'dotprod'))
      return {
        pays: true,
        measure: false,
        kernels: 'dotprod',
        why: 'dotprod: KleidiAI int8 dot-product kernels',
      };
    return {
      pays: false,
      measure: false,
      kernels: '',
      why: 'no int8 dot-product instructions (dotprod/i8mm/SME2): fp32 is kept',
    };
  }
  return { pays: false, measure: false, kernels: '', why: `no int8 policy for ${cpu!.arch}: fp32 is kept` };
}

/**
 * Whether the runtime's one-op Snake kernel beats the file's five XNNPACK ops in the int8 decoder on this CPU.
 * Measured on x86 only: with AVX-512 0.87–0.92× the decoder's time, with the AVX2 kernels 1.08× (Zen 4 core,
 * AVX-512 hidden; the kernel itself runs at the same speed, so it is XNNPACK's side that differs). Nowhere else
 * until measured.
 */
export function snakeFusionPays(cpu: HostCpu | undefined): boolean {
  return cpu?.arch === 'x64' && has(cpu, 'avx512f');
}

/** Arm CPUs with fp16 arithmetic run the decoder with XNNPACK FORCE_FP16 (as Arm's sample does). */
export function fp16Arithmetic(cpu: HostCpu | undefined): boolean {
  if (!known(cpu)) return cpu?.arch === 'arm64' || (!cpu && process.arch === 'arm64');
  return cpu!.arch === 'arm64' && has(cpu, 'asimdhp', 'fphp');
}

/** The reason line of a DiT to be picked by timing; withMeasuredDit replaces it with the outcome. */
const TIMED_DIT_REASON =
  'DiT fp32 or int8, whichever runs a step faster on this machine (timed once at load, cached)';

export interface ModelChoice {
  path: string;
  precision: WeightPrecision;
}

export interface PrecisionChoice {
  requested: PrecisionRequest;
  /** The DiT that runs (before a measured choice is made: the default, fp32). */
  dit: ModelChoice;
  /**
   * `auto` where int8's speed depends on the core (Int8Verdict.measure): the DiTs timed once at load, the
   * fastest kept (fp32 first: it wins ties). Absent once decided, and for every other choice.
   */
  ditCandidates?: readonly ModelChoice[];
  /** How a measured DiT choice was made (the pipeline's `precision`, after load). */
  ditMeasured?: Pick<FasterChoice, 'source' | 'ms' | 'at'>;
  /**
   * `fuseSnake`: run the decoder's Snake activations as one op each (runtime-native's kernel). Only for the int8
   * decoder: there it is 0.90–0.92× the decoder time; a float decoder gains less and the fused form's +0.3 GB
   * would take `auto` past its 2.5 GB (measured: the root README).
   */
  decoder: ModelChoice & { forceFp16: boolean; fuseSnake: boolean };
  /** One line per decision, for `doctor`, the CLI and logs. */
  reasons: string[];
}

function variantsFor(files: StableAudioModelFiles, which: 'dit' | 'decoder'): ModelVariants {
  return files.variants?.[which] ?? { fp32: files[which] };
}

function need(
  v: ModelVariants,
  p: WeightPrecision,
  what: string,
  requested: PrecisionRequest,
  file: string,
): ModelChoice {
  const path = v[p];
  if (!path) {
    throw new AudiogenError(
      'MISSING_FILE',
      `precision '${requested}' needs the ${p} ${what} (${file}), which the model folder does not have; ` +
        `write it with \`audiogen quantize <folder> --preset ${requested === 'fast' ? 'fast' : 'auto'}\``,
      { details: { missing: file, precision: requested } },
    );
  }
  return { path, precision: p };
}

/** A float decoder, preferring fp32 (fp16 weights on x86: within 2 % of fp32 on LiteRT 2.3.0, 2.55× slower on 2.1.6). */
function floatDecoder(v: ModelVariants): ModelChoice | undefined {
  if (v.fp32) return { path: v.fp32, precision: 'fp32' };
  if (v.fp16) return { path: v.fp16, precision: 'fp16' };
  return undefined;
}

/**
 * Picks the DiT and decoder files (and the decoder's FORCE_FP16) for `requested` on `cpu` among the
 * folder's variants. Explicit requests whose files are missing throw MISSING_FILE naming the file; `auto`
 * falls back to what the folder has and says so.
 */
export function choosePrecision(
  files: StableAudioModelFiles,
  requested: PrecisionRequest = 'auto',
  cpu?: HostCpu,
  options: { decoderFp16?: boolean; decoderFuseSnake?: boolean } = {},
): PrecisionChoice {
  if (!PRECISIONS.includes(requested)) {
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `precision must be one of ${PRECISIONS.join(', ')}, got ${JSON.stringify(requested)}`,
    );
  }
  const dv = variantsFor(files, 'dit');
  const av = variantsFor(files, 'decoder');
  const reasons: string[] = [];
  const int8 = int8Verdict(cpu);
  let dit: ModelChoice;
  let decoder: ModelChoice;
  let ditCandidates: ModelChoice[] | undefined;
  if (requested === 'fp32') {
    dit = need(dv, 'fp32', 'DiT', requested, 'dit_model.tflite');
    decoder = floatDecoder(av) ?? need(av, 'fp32', 'decoder', requested, 'autoencoder_model.tflite');
    reasons.push('fp32 requested: float DiT and decoder');
  } else if (requested === 'int8' || requested === 'fast') {
    dit = need(dv, 'int8', 'DiT', requested, 'dit_model.int8.tflite');
    if (requested === 'fast') {
      decoder = need(av, 'int8', 'decoder', requested, 'autoencoder_model.int8.tflite');
      reasons.push(
        'fast requested: int8 DiT and the int8 decoder preset (measured quality cost in the README)',
      );
    } else {
      decoder = floatDecoder(av) ?? need(av, 'fp32', 'decoder', requested, 'autoencoder_model.tflite');
      reasons.push('int8 requested: int8 DiT, float decoder');
    }
    if (!int8.pays) reasons.push(`note: int8 may not be faster on this CPU (${int8.why})`);
  } else {
    if (int8.pays && dv.int8) {
      dit = { path: dv.int8, precision: 'int8' };
      reasons.push(`DiT int8: ${int8.why}`);
    } else if (int8.measure && dv.int8 && dv.fp32) {
      dit = { path: dv.fp32, precision: 'fp32' };
      ditCandidates = [dit, { path: dv.int8, precision: 'int8' }];
      reasons.push(`${TIMED_DIT_REASON}: ${int8.why}`);
    } else if (dv.fp32) {
      dit = { path: dv.fp32, precision: 'fp32' };
      reasons.push(
        int8.pays
          ? `DiT fp32: int8 would pay here (${int8.kernels}) but the folder has no dit_model.int8.tflite (\`audiogen quantize <folder> --preset auto\` writes it)`
          : `DiT fp32: ${int8.why}`,
      );
    } else {
      dit = { path: dv.int8 ?? dv.fp16 ?? files.dit, precision: dv.int8 ? 'int8' : 'fp16' };
      reasons.push(`DiT ${dit.precision}: the only DiT in the folder`);
    }
    const f = floatDecoder(av);
    decoder = f ?? { path: av.int8 ?? files.decoder, precision: 'int8' };
    reasons.push(
      f
        ? `decoder ${f.precision}: auto keeps the decoder float (the int8 decoder is the 'fast' preset)`
        : 'decoder int8: the only decoder in the folder',
    );
  }
  const fuseSnake = options.decoderFuseSnake ?? (decoder.precision === 'int8' && snakeFusionPays(cpu));
  reasons.push(
    options.decoderFuseSnake !== undefined
      ? `decoder Snakes ${fuseSnake ? 'fused into one op each' : "as the file's five ops"}: requested`
      : fuseSnake
        ? 'decoder Snakes fused into one op each (int8 decoder with AVX-512: 0.87–0.92× its time)'
        : decoder.precision === 'int8'
          ? "decoder Snakes as the file's five ops (the fused kernel pays only with AVX-512: 1.08× the int8 decoder's time with the AVX2 kernels, not measured on Arm)"
          : "decoder Snakes as the file's five ops (a float decoder: the fused form's +0.3 GB is not worth ~5 %)",
  );
  // FORCE_FP16 computes float ops in fp16: only where the CPU has fp16 arithmetic, and never on an int8 file.
  const forceFp16 =
    decoder.precision !== 'int8' && (options.decoderFp16 ?? (requested !== 'fp32' && fp16Arithmetic(cpu)));
  if (forceFp16)
    reasons.push(
      options.decoderFp16
        ? 'decoder FORCE_FP16: requested'
        : 'decoder FORCE_FP16: this Arm CPU has fp16 arithmetic',
    );
  return {
    requested,
    dit,
    ...(ditCandidates ? { ditCandidates } : {}),
    decoder: { ...decoder, forceFp16, fuseSnake },
    reasons,
  };
}

/**
 * The choice once the DiT was picked by measurement: `winner` runs; the reason line says on what evidence.
 */
export function withMeasuredDit(
  c: PrecisionChoice,
  winner: ModelChoice,
  m: NonNullable<PrecisionChoice['ditMeasured']>,
): PrecisionChoice {
  const { ditCandidates: _, ...rest } = c;
  const times = Object.entries(m.ms)
    .map(([id, ms]) => `${id} ${ms.toFixed(0)} ms`)
    .join(', ');
  const how = m.source === 'measured' ? 'measured now' : `measured ${m.at.slice(0, 10)}, cached`;
  return {
    ...rest,
    dit: winner,
    ditMeasured: m,
    reasons: c.reasons.map((r) =>
      r.startsWith(TIMED_DIT_REASON)
        ? `DiT ${winner.precision}: the faster here by one warm step (${times}; ${how})`
        : r,
    ),
  };
}

/** The choice when the DiT cannot be timed on the CPU (it was asked to run elsewhere): the float default. */
export function withoutDitTiming(c: PrecisionChoice, why: string): PrecisionChoice {
  if (!c.ditCandidates) return c;
  const { ditCandidates: _, ...rest } = c;
  return {
    ...rest,
    reasons: c.reasons.map((r) => (r.startsWith(TIMED_DIT_REASON) ? `DiT ${c.dit.precision}: ${why}` : r)),
  };
}

/** "DiT int8 (dit_model.int8.tflite), decoder fp32 (autoencoder_model.tflite)". */
export function describePrecision(c: PrecisionChoice): string {
  const dit = c.ditCandidates
    ? `DiT ${c.ditCandidates.map((d) => `${d.precision} (${basename(d.path)})`).join(' or ')}, the faster here`
    : `DiT ${c.dit.precision} (${basename(c.dit.path)})`;
  return (
    `${dit}, decoder ${c.decoder.precision}` +
    `${c.decoder.forceFp16 ? ' + FORCE_FP16' : ''} (${basename(c.decoder.path)})`
  );
}
