// Shared test helpers for the packages' tests (exported as @audiogen/core/test; not for apps).
import type { Model, Runtime } from '../interfaces';

/** Deterministic uniform floats in [-amp, amp) from xorshift32 (seed 0 is treated as 1). */
export function randomFloats(n: number, seed: number, amp = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = (s / 2 ** 32) * 2 * amp - amp;
  }
  return out;
}

/** Cosine similarity of two equally long vectors, accumulated in float64. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
}

/** Largest |a[i] − b[i]|; throws if the lengths differ. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/**
 * Whether an external tool a test needs is present. Outside CI a missing tool skips the test (with this
 * message); in CI it throws, because scripts/setup-dev.sh installs every such tool there and a check that
 * silently skips in CI is a check that never runs.
 */
export function toolAvailable(present: boolean, what: string): boolean {
  if (present) return true;
  if (process.env.CI) throw new Error(`CI: ${what} is missing (scripts/setup-dev.sh installs it)`);
  console.warn(`[test] ${what} missing: skipping the tests that need it`);
  return false;
}

/**
 * Makes `rt.load` record, for tests of load/dispose order, which models (by label) were alive at every load
 * and every run. Works on any runtime object (fakes or the native one); returns `rt` itself.
 */
export function trackModels<R extends Runtime>(
  rt: R,
): { rt: R; models: Model[]; live: () => string[]; atLoad: string[][]; atRun: string[][] } {
  const models: Model[] = [];
  const live = () => models.filter((m) => !m.disposed).map((m) => m.label);
  const atLoad: string[][] = [];
  const atRun: string[][] = [];
  const load = rt.load.bind(rt);
  rt.load = async (source, options) => {
    atLoad.push(live());
    const m = await load(source, options);
    models.push(m);
    const run = m.run.bind(m);
    m.run = async (inputs, o) => {
      atRun.push(live());
      return run(inputs, o);
    };
    return m;
  };
  return { rt, models, live, atLoad, atRun };
}
