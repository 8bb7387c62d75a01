import { type AudioClip, AudiogenError } from '@audiogen/core';
import { describe, expect, it } from 'vitest';
import { noise } from './test/signals';
import { decodeWav, encodeWav, type WavSampleFormat } from './wav';

/**
 * Mutation fuzzing of the WAV reader: valid files of every format are mutated (bit flips, special byte
 * values, overwritten sizes, truncation, insertions/deletions, chunk splices) and decoded. The only
 * acceptable outcomes are a well-formed AudioClip or an AudiogenError. CI runs a small number of
 * iterations; `npm run fuzz -w @audiogen/audio-io` runs FUZZ_ITERATIONS (default there: 100000).
 */
const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 3000);
const SEED = Number(process.env.FUZZ_SEED ?? 12345);

class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  next(): number {
    let s = this.s;
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    this.s = s;
    return s;
  }
  int(n: number): number {
    return this.next() % n;
  }
}

function seeds(): Uint8Array[] {
  const out: Uint8Array[] = [];
  const formats: WavSampleFormat[] = ['pcm8', 'pcm16', 'pcm24', 'pcm32', 'f32', 'f64'];
  let k = 1;
  for (const format of formats) {
    for (const ch of [1, 2, 6]) {
      const clip: AudioClip = {
        sampleRate: 44100,
        channels: Array.from({ length: ch }, (_, c) => noise(37 + k, k * 7 + c, 0.8)),
      };
      out.push(encodeWav(clip, { format }));
      k++;
    }
  }
  // Plus one with extra chunks (LIST before data, odd-sized junk after).
  const base = out[4]!;
  const list = [...new TextEncoder().encode('LIST'), 5, 0, 0, 0, 1, 2, 3, 4, 5, 0];
  const tail = [...new TextEncoder().encode('junk'), 3, 0, 0, 0, 9, 9, 9];
  const withChunks = new Uint8Array([...base.subarray(0, 36), ...list, ...base.subarray(36), ...tail]);
  new DataView(withChunks.buffer).setUint32(4, withChunks.length - 8, true);
  out.push(withChunks);
  // And one with LIST/INFO tags.
  out.push(
    encodeWav(
      { sampleRate: 22050, channels: [noise(21, 99, 0.5), noise(21, 98, 0.5)] },
      { format: 'pcm24', tags: { title: 'fuzz', comment: 'seed 1', ISFT: 'audiogen' } },
    ),
  );
  return out;
}

const SPECIAL = [0, 1, 2, 3, 0x7f, 0x80, 0xfe, 0xff];
const SPECIAL32 = [0, 1, 2, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x10000, 44100, 1 << 30];

function mutate(src: Uint8Array, rng: Rng): Uint8Array {
  let b = src.slice();
  const rounds = 1 + rng.int(4);
  for (let r = 0; r < rounds; r++) {
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const len = b.length;
    if (len === 0) break;
    // Header bytes are where parsers break: aim there two times out of three.
    const pos = rng.int(3) < 2 ? rng.int(Math.min(len, 80)) : rng.int(len);
    switch (rng.int(9)) {
      case 0:
        b[pos] = b[pos]! ^ (1 << rng.int(8));
        break;
      case 1:
        b[pos] = SPECIAL[rng.int(SPECIAL.length)]!;
        break;
      case 2:
        b[pos] = rng.int(256);
        break;
      case 3:
        if (pos + 4 <= len) dv.setUint32(pos - (pos % 2), SPECIAL32[rng.int(SPECIAL32.length)]!, true);
        break;
      case 4:
        if (pos + 2 <= len)
          dv.setUint16(pos, [0, 1, 3, 0xfffe, 0xffff, 8, 16, 24, 32, 64][rng.int(10)]!, true);
        break;
      case 5:
        b = b.slice(0, rng.int(len + 1));
        break;
      case 6: {
        const ins = new Uint8Array(1 + rng.int(8)).map(() => rng.int(256));
        b = new Uint8Array([...b.subarray(0, pos), ...ins, ...b.subarray(pos)]);
        break;
      }
      case 7:
        b = new Uint8Array([...b.subarray(0, pos), ...b.subarray(Math.min(len, pos + 1 + rng.int(8)))]);
        break;
      case 8: {
        // Overwrite a known size field: RIFF size, fmt size, data size (canonical offsets).
        const off = [4, 16, 40, 52, 64][rng.int(5)]!;
        if (off + 4 <= len) dv.setUint32(off, SPECIAL32[rng.int(SPECIAL32.length)]!, true);
        break;
      }
    }
  }
  return b;
}

function checkClip(clip: AudioClip, bytes: Uint8Array) {
  expect(clip.channels.length).toBeGreaterThan(0);
  const n = clip.channels[0]!.length;
  // Output can never be larger than the input could encode (8-bit mono: 1 byte → 1 sample).
  expect(n * clip.channels.length).toBeLessThanOrEqual(bytes.length);
  for (const ch of clip.channels) expect(ch.length).toBe(n);
  expect(Number.isInteger(clip.sampleRate) && clip.sampleRate > 0).toBe(true);
}

describe('WAV reader mutation fuzz', () => {
  it(`${ITERATIONS} mutated files: only AudioClips or AudiogenErrors (seed ${SEED})`, () => {
    const rng = new Rng(SEED);
    const pool = seeds();
    const outcomes: Record<string, number> = {};
    const t0 = performance.now();
    for (let i = 0; i < ITERATIONS; i++) {
      const bytes = mutate(pool[rng.int(pool.length)]!, rng);
      for (const allowTruncated of [false, true]) {
        try {
          const clip = decodeWav(bytes, { allowTruncated });
          checkClip(clip, bytes);
          outcomes.ok = (outcomes.ok ?? 0) + 1;
        } catch (e) {
          if (!(e instanceof AudiogenError)) {
            throw new Error(
              `iteration ${i}: non-Audiogen error ${(e as Error)?.stack}\ninput: ${Buffer.from(bytes.subarray(0, 96)).toString('hex')}`,
            );
          }
          outcomes[e.code] = (outcomes[e.code] ?? 0) + 1;
        }
      }
    }
    const ms = performance.now() - t0;
    console.log(`wav fuzz: ${ITERATIONS} inputs in ${ms.toFixed(0)} ms`, outcomes);
    // The mutations must reach both outcomes (else the fuzzer is not exercising anything).
    expect(outcomes.ok).toBeGreaterThan(ITERATIONS / 20);
    expect(outcomes.INVALID_WAV).toBeGreaterThan(ITERATIONS / 20);
  });
});
