// Compares measureLoudness with pyloudnorm's values written by loudness_ref.py (see loudness-check.sh).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { measureLoudness } from '../src/index';

const dir = process.argv[2]!;
const cases = JSON.parse(readFileSync(join(dir, 'ref.json'), 'utf8')) as {
  name: string;
  rate: number;
  channels: number;
  frames: number;
  pyloudnorm: number;
}[];
let worst = 0;
let lo = Number.POSITIVE_INFINITY;
let hi = Number.NEGATIVE_INFINITY;
for (const c of cases) {
  const b = readFileSync(join(dir, `${c.name}.f32`));
  const inter = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
  const channels = Array.from({ length: c.channels }, (_, ch) => {
    const x = new Float32Array(c.frames);
    for (let i = 0; i < c.frames; i++) x[i] = inter[i * c.channels + ch]!;
    return x;
  });
  const ours = measureLoudness({ sampleRate: c.rate, channels });
  const diff = ours - c.pyloudnorm;
  worst = Math.max(worst, Math.abs(diff));
  lo = Math.min(lo, diff);
  hi = Math.max(hi, diff);
  console.log(
    `${c.name.padEnd(16)} ours ${ours.toFixed(3).padStart(8)}  pyloudnorm ${c.pyloudnorm.toFixed(3).padStart(8)}  diff ${diff.toFixed(3)}`,
  );
}
console.log(
  `worst |diff| = ${worst.toFixed(3)} LU, spread ${(hi - lo).toFixed(3)} LU over ${cases.length} cases`,
);
// pyloudnorm's high-pass has unity passband gain, the published 48 kHz filter (numerator 1, −2, 1) has
// +0.043 dB, and pyloudnorm's shelf comes from rounded constants: expect a near-constant offset of a few
// hundredths of an LU, the same at every sample rate.
process.exit(worst <= 0.1 && hi - lo <= 0.02 ? 0 : 1);
