// The random-weight model folder of `npm run demo`, also used by tests that need a folder able to make a 10 s
// clip: the real Stable Audio architecture with tiny widths and depths but the full clip length (524,288
// frames, 11.89 s). Builds in about a second. RANDOM WEIGHTS: the audio is noise.
import { STABLE_AUDIO_TINY, writeRandomStableAudioFolder } from '@audiogen/convert';

export const DEMO_CONFIG = {
  ...STABLE_AUDIO_TINY,
  name: 'stable-audio-demo',
  sampleSize: 524288,
  vae: { ...STABLE_AUDIO_TINY.vae, strides: [2, 4, 4, 8, 8] },
};

/** Writes the demo folder (or, with `full`, the real Stable Audio Open Small sizes, ~2 GB) to `out`. */
export function writeDemoModels(out, { full = false, onProgress } = {}) {
  return writeRandomStableAudioFolder({
    out,
    ...(full ? { tiny: false } : { config: DEMO_CONFIG }),
    seed: 0,
    ...(onProgress ? { onProgress } : {}),
  });
}
