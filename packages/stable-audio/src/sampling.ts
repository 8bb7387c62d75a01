import type { Guidance, NoiseSource, Sampler, SamplerConfig, Schedule } from '@audiogen/core';
import { cfgGuidance, createNoiseSource, createSampler, rfSchedule } from '@audiogen/sampler';

/** The part of @audiogen/sampler this package uses; a pipeline can swap any of them (tests, custom samplers). */
export interface SamplerApi {
  /** `float32`: computed as Arm's C++ `fill_sigmas` (the 'arm-f32' schedule). */
  rfSchedule(options: { steps: number; sigmaMax?: number; float32?: boolean }): Schedule;
  createSampler(config: SamplerConfig): Sampler;
  cfgGuidance(options: { scale: number }): Guidance;
  createNoiseSource(seed: number, options?: { kind?: 'philox' | 'arm-mt19937' }): NoiseSource;
}

export function samplerApi(): SamplerApi {
  return { rfSchedule, createSampler, cfgGuidance, createNoiseSource };
}
