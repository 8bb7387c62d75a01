import { AudiogenError, type SamplerConfig, type Schedule } from '@audiogen/core';
import { linearSchedule, rfSchedule } from './schedule';

/**
 * The schedule a sampler config asks for, as stable-audio-tools' sample_rf builds it:
 * config.schedule 'rf' (logSNR, the default except for rk4) or 'linear' (the rk4 default), with
 * config.steps (default 8), config.sigmaMax (default 1) and, for 'linear', config.shift.
 */
export function scheduleFor(config: SamplerConfig): Schedule {
  const steps = config.steps ?? 8;
  const kind = (config.schedule as string | undefined) ?? (config.name === 'rk4' ? 'linear' : 'rf');
  const sigmaMax = (config.sigmaMax as number | undefined) ?? 1;
  if (kind === 'rf') return rfSchedule({ steps, sigmaMax });
  if (kind === 'linear') {
    return linearSchedule({ steps, start: sigmaMax, shift: (config.shift as number | undefined) ?? 1 });
  }
  throw new AudiogenError('INVALID_ARGUMENT', `unknown schedule '${String(kind)}' (use 'rf' or 'linear')`);
}
