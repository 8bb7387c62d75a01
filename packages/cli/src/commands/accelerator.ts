// --accelerator / --gpu-precision / --remeasure-placement for the commands that run the Stable Audio pipeline
// (generate, bench): parsed here once, passed to the pipeline, and its per-stage placement printed.
import {
  type AcceleratorChoice,
  AudiogenError,
  checkAcceleratorChoice,
  type ModelPlacement,
} from '@audiogen/core';
import { type Command, Option } from 'commander';

const STAGES = ['conditioners', 'dit', 'decoder', 'encoder'] as const;
type Stage = (typeof STAGES)[number];
export type AcceleratorSpec = AcceleratorChoice | Partial<Record<Stage, AcceleratorChoice>>;

export interface AcceleratorCliOptions {
  accelerator?: string;
  gpuPrecision?: 'fp16' | 'fp32';
  remeasurePlacement?: boolean;
}

/** 'cpu' | 'gpu' | 'auto', or per stage: 'dit=gpu,decoder=auto' (stages not named stay on the CPU). */
export function parseAccelerator(v: string): AcceleratorSpec {
  if (!v.includes('=')) return checkAcceleratorChoice(v, '--accelerator');
  const out: Partial<Record<Stage, AcceleratorChoice>> = {};
  for (const part of v.split(',')) {
    const [stage, choice] = part.split('=').map((s) => s.trim());
    if (!stage || !(STAGES as readonly string[]).includes(stage))
      throw new AudiogenError(
        'INVALID_ARGUMENT',
        `--accelerator: unknown stage '${stage}' (stages: ${STAGES.join(', ')})`,
      );
    out[stage as Stage] = checkAcceleratorChoice(choice, `--accelerator ${stage}`);
  }
  return out;
}

export function addAcceleratorOptions(cmd: Command): Command {
  return cmd
    .option(
      '--accelerator <where>',
      'cpu (default), gpu, auto (each stage on the GPU only where it runs there whole, agrees with the CPU and is faster: measured once, cached), or per stage: dit=auto,decoder=gpu',
    )
    .addOption(new Option('--gpu-precision <p>', 'GPU arithmetic (default fp16)').choices(['fp16', 'fp32']))
    .option('--remeasure-placement', 'with auto: measure again instead of using the cached decision');
}

/** The pipeline options of the flags (nothing when none was given: the CPU, as before). */
export function acceleratorPipelineOptions(o: AcceleratorCliOptions): {
  accelerator?: AcceleratorSpec;
  gpuPrecision?: 'fp16' | 'fp32';
  remeasurePlacement?: boolean;
} {
  return {
    ...(o.accelerator !== undefined ? { accelerator: parseAccelerator(o.accelerator) } : {}),
    ...(o.gpuPrecision ? { gpuPrecision: o.gpuPrecision } : {}),
    ...(o.remeasurePlacement ? { remeasurePlacement: true } : {}),
  };
}

/** One line per stage: where it runs and why. */
export function placementLines(p: Partial<Record<string, ModelPlacement>>): string[] {
  return Object.entries(p).map(([stage, q]) => {
    const times =
      q!.cpuMs !== undefined
        ? `, measured CPU ${q!.cpuMs.toFixed(1)} ms / GPU ${q!.gpuMs!.toFixed(1)} ms`
        : '';
    const soft =
      q!.adapter && /arch=software|CPU \/ Software/.test(q!.adapter)
        ? ' (a software GPU: times mean nothing)'
        : '';
    const why = q!.reason ? `: ${q!.reason}` : '';
    return `${stage}: ${q!.accelerator.toUpperCase()} [${q!.requested}, ${q!.source}${times}${why}]${q!.adapter ? ` on ${q!.adapter}` : ''}${soft}`;
  });
}
