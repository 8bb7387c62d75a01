import { AudiogenError, type NoiseSource, type NoiseStream } from '@audiogen/core';
import { ArmNormalStream } from './mt19937';
import { PhiloxNormalStream } from './philox';

export type NoiseKind = 'philox' | 'arm-mt19937';

export interface NoiseSourceOptions {
  /**
   * 'philox' (default): the specified audiogen stream (Philox4x32-10 + deterministic Box–Muller),
   * bit-identical on every platform and engine.
   * 'arm-mt19937': the stream of Arm's audiogen sample (std::mt19937 + libstdc++
   * std::normal_distribution<float>; init = mt19937(seed), step i = mt19937(seed + i + 4564)).
   */
  kind?: NoiseKind;
  /**
   * Only for 'arm-mt19937': whether the host's logf contracts into FMA (glibc on x86-64 with
   * FMA/AVX2, and aarch64). Default true. Affects a handful of values in a million.
   */
  fusedLogf?: boolean;
}

/** The Philox key word of a purpose: init → 0, step i → i + 1. */
export function philoxStreamId(purpose: 'init' | 'step', index = 0): number {
  if (purpose === 'init') return 0;
  return index + 1;
}

function checkIndex(purpose: string, index: number | undefined): number {
  if (purpose !== 'init' && purpose !== 'step') {
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `noise purpose must be 'init' or 'step', got ${String(purpose)}`,
    );
  }
  const i = index ?? 0;
  if (!Number.isInteger(i) || i < 0 || i >= 0xffffffff) {
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `noise stream index must be an integer in [0, 2^32 − 1), got ${i}`,
    );
  }
  return i;
}

/**
 * Independent, reproducible noise streams for one seed (uint32). Each call to `stream()` returns a
 * fresh stream positioned at its start, so the same (seed, purpose, index) always gives the same
 * values, whatever was drawn before.
 */
export function createNoiseSource(seed: number, options: NoiseSourceOptions = {}): NoiseSource {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new AudiogenError('INVALID_ARGUMENT', `seed must be an integer in [0, 2^32), got ${seed}`);
  }
  const kind = options.kind ?? 'philox';
  if (kind === 'philox') {
    return {
      seed,
      stream(purpose, index): NoiseStream {
        const i = checkIndex(purpose, index);
        return new PhiloxNormalStream(seed, philoxStreamId(purpose, i));
      },
    };
  }
  if (kind === 'arm-mt19937') {
    const fused = options.fusedLogf ?? true;
    return {
      seed,
      stream(purpose, index): NoiseStream {
        const i = checkIndex(purpose, index);
        const s = purpose === 'init' ? seed : (seed + i + 4564) % 4294967296;
        return new ArmNormalStream(s, fused);
      },
    };
  }
  throw new AudiogenError(
    'INVALID_ARGUMENT',
    `unknown noise kind '${String(kind)}' (use 'philox' or 'arm-mt19937')`,
  );
}

export {
  ArmNormalStream,
  fma,
  generateCanonicalFloat,
  glibcLogf,
  LibstdcxxNormalFloat,
  MT19937,
} from './mt19937';
export { boxMuller, detCosSinTurn, detLog, PhiloxNormalStream, philox4x32 } from './philox';
