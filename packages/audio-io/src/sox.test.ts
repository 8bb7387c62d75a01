import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toolAvailable } from '@audiogen/core/test';
import { afterAll, describe, expect, it } from 'vitest';
import { resampleClip } from './resample';
import { noise } from './test/signals';
import { decodeWav, encodeWav, inspectWav, type WavSampleFormat } from './wav';

/**
 * Cross-checks against SoX, an independent C implementation (scripts/setup-dev.sh installs it; outside CI
 * the file is skipped when sox is not on PATH).
 */
function hasSox(): boolean {
  try {
    execFileSync('sox', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const soxPresent = toolAvailable(hasSox(), 'sox');

const dir = mkdtempSync(join(tmpdir(), 'audio-io-sox-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** SoX's own decode of a WAV file: interleaved float64 samples (integer PCM scaled by 1/2^(bits−1)). */
function soxDecode(path: string): Float64Array {
  const raw = join(dir, 'ref.f64');
  execFileSync('sox', [path, '-t', 'f64', '-e', 'floating-point', raw]);
  const b = readFileSync(raw);
  return new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}

describe.skipIf(!soxPresent)('SoX (independent C implementation)', () => {
  const soxFormats: [string, string[], WavSampleFormat][] = [
    ['u8', ['-b', '8', '-e', 'unsigned-integer'], 'pcm8'],
    ['s16', ['-b', '16', '-e', 'signed-integer'], 'pcm16'],
    ['s24', ['-b', '24', '-e', 'signed-integer'], 'pcm24'],
    ['s32', ['-b', '32', '-e', 'signed-integer'], 'pcm32'],
    ['f32', ['-b', '32', '-e', 'floating-point'], 'f32'],
    ['f64', ['-b', '64', '-e', 'floating-point'], 'f64'],
  ];

  it('we read what SoX writes (all sample formats; 1, 2, 6 channels; its extensible headers) exactly', () => {
    let extensibleSeen = 0;
    for (const [name, args, format] of soxFormats) {
      for (const ch of [1, 2, 6]) {
        const path = join(dir, `sox_${name}_${ch}.wav`);
        const tones = Array.from({ length: ch }, (_, c) => ['sine', String(300 + 577 * c)]).flat();
        execFileSync('sox', [
          '-R',
          '-n',
          '-r',
          '44100',
          '-c',
          String(ch),
          ...args,
          path,
          'synth',
          '0.05',
          ...tones,
          'gain',
          '-1',
        ]);
        const bytes = readFileSync(path);
        const info = inspectWav(bytes);
        expect(info.format, path).toBe(format);
        if (info.extensible) extensibleSeen++;
        const clip = decodeWav(bytes);
        const ref = soxDecode(path);
        expect(clip.channels.length).toBe(ch);
        const n = clip.channels[0]!.length;
        expect(n * ch).toBe(ref.length);
        for (let i = 0; i < n; i++) {
          for (let c = 0; c < ch; c++) {
            if (clip.channels[c]![i] !== Math.fround(ref[i * ch + c]!)) {
              throw new Error(`${path} ch${c}[${i}]: ours ${clip.channels[c]![i]} sox ${ref[i * ch + c]}`);
            }
          }
        }
      }
    }
    expect(extensibleSeen).toBeGreaterThan(0);
  });

  it('SoX reads what we write (PCM 8/16/24/32, float 32/64, 1–6 channels, extensible) exactly', () => {
    for (const [, , format] of soxFormats) {
      for (const ch of [1, 2, 6]) {
        const clip = {
          sampleRate: 32000,
          channels: Array.from({ length: ch }, (_, c) => noise(999, c + 5, 0.95)),
        };
        const bytes = encodeWav(clip, { format, tags: { comment: 'from audiogen' } });
        const path = join(dir, `ours_${format}_${ch}.wav`);
        writeFileSync(path, bytes);
        const info = execFileSync('sox', ['--i', path], { encoding: 'utf8' });
        expect(info).toMatch(new RegExp(`Channels\\s*:\\s*${ch}`));
        expect(info).toMatch(/Sample Rate\s*:\s*32000/);
        const ref = soxDecode(path);
        const ours = decodeWav(bytes);
        expect(ref.length).toBe(999 * ch);
        // SoX holds samples as 32-bit integers internally, so float files come back rounded to 2^-31.
        const tol = format === 'f32' || format === 'f64' ? 2 ** -31 : 0;
        for (let i = 0; i < 999; i++) {
          for (let c = 0; c < ch; c++) {
            if (Math.abs(ref[i * ch + c]! - ours.channels[c]![i]!) > tol) {
              throw new Error(
                `${format}/${ch} ch${c}[${i}]: sox ${ref[i * ch + c]} ours ${ours.channels[c]![i]}`,
              );
            }
          }
        }
      }
    }
  });

  it('our 48 → 44.1 kHz resampling matches SoX `rate -v` (very high quality) to < −90 dB', () => {
    // Band-limited multi-tone (100 Hz – 18 kHz, all inside both passbands), 1 s, mono float.
    const fs = 48000;
    const n = fs;
    const x = new Float32Array(n);
    const tones = [100, 997, 4000, 9000, 15000, 18000];
    for (let i = 0; i < n; i++) {
      let v = 0;
      for (const [k, f] of tones.entries()) v += Math.sin((2 * Math.PI * f * i) / fs + k) / tones.length;
      x[i] = 0.9 * v;
    }
    const src = join(dir, 'rs_in.wav');
    const dst = join(dir, 'rs_sox.wav');
    writeFileSync(src, encodeWav({ sampleRate: fs, channels: [x] }, { format: 'f32' }));
    execFileSync('sox', [src, '-b', '32', '-e', 'floating-point', dst, 'rate', '-v', '44100']);
    const theirs = decodeWav(readFileSync(dst)).channels[0]!;
    const ours = resampleClip({ sampleRate: fs, channels: [x] }, 44100).channels[0]!;
    expect(Math.abs(ours.length - theirs.length)).toBeLessThanOrEqual(1);
    // Compare away from the edges (the two treat the signal boundaries differently).
    let err = 0;
    let sig = 0;
    for (let i = 2000; i < Math.min(ours.length, theirs.length) - 2000; i++) {
      err += (ours[i]! - theirs[i]!) ** 2;
      sig += theirs[i]! ** 2;
    }
    const db = 10 * Math.log10(err / sig);
    console.log(`ours vs sox rate -v, 48k → 44.1k: difference ${db.toFixed(1)} dB`);
    expect(db).toBeLessThan(-90);
  });
});
