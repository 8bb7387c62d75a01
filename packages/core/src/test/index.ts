// Shared test helpers for the packages' tests (exported as @audiogen/core/test; not for apps).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Model, Runtime } from '../interfaces';
import type { OutputWriteHook } from '../output';

/**
 * xorshift32 as uniform numbers in [0, 1) (seed 0 is treated as 1): deterministic, so a failing case can be
 * replayed from its seed.
 */
export function xorshift32(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

/** Deterministic uniform floats in [-amp, amp) from xorshift32. */
export function randomFloats(n: number, seed: number, amp = 1): Float32Array {
  const next = xorshift32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = next() * 2 * amp - amp;
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

/**
 * Makes the output layer's write(2) calls go through `hook` (short writes, ENOSPC after N bytes…)
 * until the returned function is called. Shared by every copy of core in the process.
 */
export function injectOutputFaults(hook: OutputWriteHook): () => void {
  const g = globalThis as unknown as Record<symbol, OutputWriteHook | undefined>;
  const key = Symbol.for('audiogen.output.writeHook');
  const before = g[key];
  g[key] = hook;
  return () => {
    g[key] = before;
  };
}

/** A write hook that accepts at most `max` bytes per call and fails with `errno` once `limit` bytes are in. */
export function shortWriteFaults(
  opts: { max?: number; limit?: number; errno?: string } = {},
): OutputWriteHook {
  let total = 0;
  return async (_path, chunk, write) => {
    const room = opts.limit === undefined ? chunk.length : opts.limit - total;
    if (room <= 0)
      throw Object.assign(new Error(`${opts.errno ?? 'ENOSPC'}: injected`), { code: opts.errno ?? 'ENOSPC' });
    const n = await write(chunk.subarray(0, Math.min(chunk.length, room, opts.max ?? chunk.length)));
    total += n;
    return n;
  };
}

export interface SmallDisk {
  dir: string;
  /** Fills the disk up to `leave` free bytes (a filler file, so it can be deleted again). */
  fill(leave?: number): void;
  remount(readOnly: boolean): void;
  unmount(): void;
}

/**
 * Mounts a small tmpfs (default 256 KiB) on a fresh temp folder, for real disk-full and read-only
 * tests. Needs root and a kernel that lets this process mount (CI runs as root on such a machine).
 * Returns the reason as a string where that is not possible, so tests can skip with a clear message.
 */
export function mountSmallDisk(sizeKiB = 256): SmallDisk | string {
  const dir = mkdtempSync(join(tmpdir(), 'ag-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    return `cannot mount a tmpfs here (${(e as Error).message.split('\n')[0]}): run as root on Linux`;
  }
  return {
    dir,
    fill(leave = 0) {
      const free = Number(statfsSync(dir).bavail) * Number(statfsSync(dir).bsize);
      const filler = join(dir, `.filler-${Date.now()}-${Math.random()}`);
      // tmpfs counts whole pages; a few tries get within a page of `leave`.
      try {
        writeFileSync(filler, new Uint8Array(Math.max(0, free - leave)));
      } catch (e) {
        // A full disk is what was asked for.
        if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
      }
    },
    remount(readOnly: boolean) {
      execFileSync('mount', ['-o', `remount,${readOnly ? 'ro' : 'rw'}`, dir], { stdio: 'pipe' });
    },
    unmount() {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
