// Timings of the heavy audio-io operations on a Stable Audio Open Small sized clip (stereo,
// 524288 frames at 44.1 kHz = 11.9 s). Run: npm run bench -w @audiogen/audio-io
import {
  analyzeLoudness,
  applyOutputPolicy,
  decodeWav,
  encodeWav,
  measureLoudness,
  resampleClip,
  truePeak,
} from '../src/index';

function noise(n: number, seed: number): Float32Array {
  let s = seed;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * 0.5;
  }
  return out;
}

function time(name: string, fn: () => unknown, runs = 3): void {
  fn(); // warm-up
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  console.log(
    `${name.padEnd(46)} median ${t[runs >> 1]!.toFixed(1).padStart(8)} ms   min ${t[0]!.toFixed(1).padStart(8)} ms`,
  );
}

const frames = 524288;
const clip = { sampleRate: 44100, channels: [noise(frames, 1), noise(frames, 2)] };
const clip48 = { sampleRate: 48000, channels: [noise(571_000, 3), noise(571_000, 4)] };
const clip16 = { sampleRate: 16000, channels: [noise(190_000, 5)] };
console.log(
  `node ${process.version}; clip: stereo ${frames} frames @ 44.1 kHz (${(frames / 44100).toFixed(2)} s)`,
);
for (const format of ['pcm16', 'pcm24', 'f32'] as const) {
  const bytes = encodeWav(clip, { format });
  time(`encodeWav ${format}`, () => encodeWav(clip, { format }));
  time(`decodeWav ${format}`, () => decodeWav(bytes));
}
time('measureLoudness (BS.1770-4 integrated)', () => measureLoudness(clip));
time('analyzeLoudness (I, M, S, LRA)', () => analyzeLoudness(clip));
time('truePeak (4x oversampled)', () => truePeak(clip));
time('applyOutputPolicy default (peak protect)', () => applyOutputPolicy(clip));
time('applyOutputPolicy loudness -14 LUFS', () => applyOutputPolicy(clip, { loudnessLufs: -14 }));
time('resampleClip 48k -> 44.1k stereo 11.9 s', () => resampleClip(clip48, 44100));
time('resampleClip 16k -> 44.1k mono 11.9 s', () => resampleClip(clip16, 44100));
