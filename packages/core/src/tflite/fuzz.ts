// Mutation fuzzing of the .tflite reader/verifier (used by fuzz.test.ts and `npm run fuzz`).
import { AudiogenError } from '@audiogen/core';
import { xorshift32 } from '../test/index';
import { readTflite, verifyTflite } from './read';
import { writeTflite } from './write';

/** The fuzzers' random stream (seed 0 starts from the golden ratio, as fuzz runs recorded so far did). */
export function rng(seed: number): () => number {
  return xorshift32(seed >>> 0 || 0x9e3779b9);
}

export const MUTATIONS = ['flip', 'truncate', 'offset', 'inflate', 'splice', 'zero'] as const;
export type Mutation = (typeof MUTATIONS)[number];

/** Applies one mutation of the given kind to a copy of `src`. */
export function mutate(src: Uint8Array, kind: Mutation, r: () => number): Uint8Array {
  const int = (n: number) => Math.floor(r() * n);
  if (kind === 'truncate') return src.slice(0, int(src.length));
  const b = src.slice();
  const dv = new DataView(b.buffer);
  const word = () => int(Math.max(1, (b.length >> 2) - 1)) * 4;
  switch (kind) {
    case 'flip': {
      const n = 1 + int(8);
      for (let i = 0; i < n; i++) b[int(b.length)]! ^= 1 << int(8);
      break;
    }
    case 'offset': {
      // Corrupt an aligned 32-bit word (uoffsets, vtable soffsets, lengths, indices) by a small delta.
      const p = word();
      if (p + 4 <= b.length)
        dv.setInt32(p, dv.getInt32(p, true) + (int(65) - 32) * (r() < 0.5 ? 1 : 4), true);
      break;
    }
    case 'inflate': {
      // Make a 32-bit word (often a vector length) huge or negative.
      const p = word();
      const vals = [0x7fffffff, 0xffffffff, 0x80000000, 0x10000000, b.length, b.length + 1];
      if (p + 4 <= b.length) dv.setUint32(p, vals[int(vals.length)]!, true);
      break;
    }
    case 'splice': {
      // Copy a chunk of the file over another place (duplicates plausible structures).
      const n = 1 + int(64);
      const from = int(b.length);
      const to = int(b.length);
      b.copyWithin(to, from, Math.min(b.length, from + n));
      break;
    }
    case 'zero': {
      const p = word();
      const n = 1 + int(16);
      b.fill(0, p, Math.min(b.length, p + n));
      break;
    }
  }
  return b;
}

export interface FuzzStats {
  iterations: number;
  accepted: number;
  rejected: number;
  byKind: Record<string, { accepted: number; rejected: number }>;
  slowestMs: number;
}

/**
 * Runs `iterations` mutations over the corpus. Every input must either verify and read (and then
 * write back) or throw an AudiogenError INVALID_TFLITE; anything else is rethrown with its seed.
 */
export function fuzz(corpus: Uint8Array[], iterations: number, seed = 1): FuzzStats {
  const r = rng(seed);
  const stats: FuzzStats = { iterations, accepted: 0, rejected: 0, byKind: {}, slowestMs: 0 };
  for (let i = 0; i < iterations; i++) {
    const kind = MUTATIONS[i % MUTATIONS.length] as Mutation;
    const src = corpus[Math.floor(r() * corpus.length)] as Uint8Array;
    const rounds = 1 + Math.floor(r() * 3);
    let bytes = src;
    for (let k = 0; k < rounds; k++)
      bytes = mutate(bytes, k === 0 ? kind : MUTATIONS[Math.floor(r() * 6)]!, r);
    const t0 = performance.now();
    let ok = false;
    try {
      verifyTflite(bytes);
      const g = readTflite(bytes);
      ok = true;
      try {
        writeTflite(g);
      } catch (e) {
        // A verified graph may still hold things the writer refuses (reported as typed errors).
        if (!(e instanceof AudiogenError)) throw e;
      }
    } catch (e) {
      if (!(e instanceof AudiogenError) || (!ok && e.code !== 'INVALID_TFLITE')) {
        const err = new Error(`fuzz iteration ${i} (seed ${seed}, ${kind}): non-typed error ${String(e)}`);
        (err as Error & { input?: Uint8Array }).input = bytes;
        throw err;
      }
    }
    const ms = performance.now() - t0;
    if (ms > stats.slowestMs) stats.slowestMs = ms;
    stats.byKind[kind] ??= { accepted: 0, rejected: 0 };
    const k = stats.byKind[kind];
    if (ok) {
      stats.accepted++;
      k.accepted++;
    } else {
      stats.rejected++;
      k.rejected++;
    }
  }
  return stats;
}
