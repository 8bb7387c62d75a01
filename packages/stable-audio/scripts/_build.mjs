import { buildDecoder, decoderSpec, randomWeights, STABLE_AUDIO_OPEN_SMALL } from '@audiogen/convert';
import { writeTfliteFile } from '@audiogen/core/tflite';

const frames = Number(process.argv[3]);
const cfg = { ...STABLE_AUDIO_OPEN_SMALL, sampleSize: frames * 2048 };
await writeTfliteFile(
  process.argv[2],
  buildDecoder(cfg, randomWeights(decoderSpec(cfg), 4), JSON.parse(process.argv[4] ?? '{}')),
);
