export {
  defaultMixMatrix,
  type FadeOptions,
  type FadeShape,
  fadeClip,
  type MixOptions,
  mixChannels,
  type PeakNormalizeOptions,
  peakNormalize,
  type TrimOptions,
  trimClip,
} from './edit';
export {
  type AnalogPrototype,
  type AnalyzeLoudnessOptions,
  analogPrototype,
  analyzeLoudness,
  type Biquad,
  BS1770_48K,
  biquadMagnitude,
  K_WEIGHTING_PROTOTYPES,
  kWeightingFilters,
  type LoudnessAnalysis,
  type LoudnessNormalizeOptions,
  type LoudnessOptions,
  loudnessNormalize,
  measureLoudness,
} from './loudness';
export {
  applyOutputPolicy,
  applyOutputPolicyDetailed,
  type OutputPolicy,
  type OutputPolicyReport,
  TRIM_FADE_OUT,
} from './policy';
export {
  besselI0,
  designResampler,
  kaiserBeta,
  type ResampleOptions,
  type ResamplerDesign,
  resampleChannel,
  resampleClip,
} from './resample';
export { truePeak, truePeakOversampling } from './truepeak';
export { assertFinite, dbToGain, gainToDb, samplePeak } from './util';
export {
  type DecodeWavOptions,
  decodeWav,
  type EncodeWavOptions,
  encodeWav,
  inspectWav,
  readWav,
  type WavInfo,
  type WavSampleFormat,
  writeWav,
} from './wav';
