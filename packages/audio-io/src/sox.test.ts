import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { noise } from './test/signals';
import { decodeWav, encodeWav, inspectWav, type WavSampleFormat } from './wav';

/**
 * Cross-checks against SoX, an independent C implementation (run `bash scripts/sox-check.sh` in
 * packages/audio-io to install it and run this file; skipped when sox is not on PATH, as in CI).
 */
function hasSox(): boolean {
  try {
    execFileSync('sox', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'audio-io-sox-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** SoX's own decode of a WAV file: interleaved float64 samples (integer PCM scaled by 1/2^(bits−1)). */
function soxDecode(path: string): Float64Array {
  const raw = join(dir, 'ref.f64');
  execFileSync('sox', [path, '-t', 'f64', '-e', 'floating-point', raw]);
  const b = readFileSync(raw);
  return new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}

describe.skipIf(!hasSox())('SoX (independent C implementation)', () => {
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
});
