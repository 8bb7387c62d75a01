export { scheduleFor } from './config';
export { fmaf } from './f32';
export { type CfgOptions, cfgGuidance } from './guidance';
export {
  ArmNormalStream,
  boxMuller,
  createNoiseSource,
  detCosSinTurn,
  detLog,
  generateCanonicalFloat,
  glibcLogf,
  LibstdcxxNormalFloat,
  MT19937,
  type NoiseKind,
  type NoiseSourceOptions,
  PhiloxNormalStream,
  philox4x32,
  philoxStreamId,
} from './rng/index';
export {
  createSampler,
  describeSamplers,
  dpmppSampler,
  eulerSampler,
  flowLogSnr,
  listSamplers,
  pingpongSampler,
  registerSampler,
  rk4Sampler,
  runSteps,
  type SamplerFactory,
  type StepContext,
  type StepResult,
  unregisterSampler,
} from './samplers';
export {
  explicitSchedule,
  type LinearScheduleOptions,
  linearSchedule,
  mixInitLatents,
  type RfScheduleOptions,
  rfSchedule,
  startScheduleAt,
  validateSchedule,
} from './schedule';
