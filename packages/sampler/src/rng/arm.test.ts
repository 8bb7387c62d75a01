import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toolAvailable } from '@audiogen/core/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNoiseSource } from './index';
import { glibcLogf, LibstdcxxNormalFloat, MT19937 } from './mt19937';

const SRC = fileURLToPath(new URL('../../test/armref.cpp', import.meta.url));

function findCompiler(): string | undefined {
  for (const cxx of [process.env.CXX, 'g++', 'c++'].filter(Boolean) as string[]) {
    const r = spawnSync(cxx, ['--version'], { encoding: 'utf8' });
    if (r.status === 0 && /g\+\+|GCC|Free Software/.test(r.stdout)) return cxx;
  }
  return undefined;
}
const found = findCompiler();
const cxx = toolAvailable(!!found, 'g++ (set CXX to a g++)') ? found : undefined;

describe.skipIf(!cxx)(
  'arm-mt19937 stream equals std::mt19937 + libstdc++ normal_distribution<float> (g++)',
  () => {
    let dir = '';
    let bin = '';
    const run = (...args: (string | number)[]): Uint32Array => {
      const out = execFileSync(bin, args.map(String), { maxBuffer: 64 << 20 });
      return new Uint32Array(out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength));
    };
    const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'audiogen-armref-'));
      bin = join(dir, 'armref');
      // No FP contraction: the x86-64 g++ default; libm's own logf variant is whatever the host has.
      execFileSync(cxx!, ['-O2', '-std=c++17', '-ffp-contract=off', '-o', bin, SRC]);
    });
    afterAll(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('mt19937 raw words (incl. the 10000th output of the default seed, 4123659995)', () => {
      const ref = run('mt', 5489, 10000);
      const g = new MT19937(5489);
      const ours = new Uint32Array(10000);
      for (let i = 0; i < ours.length; i++) ours[i] = g.next();
      expect(ours[9999]).toBe(4123659995);
      expect(ours).toEqual(ref);
      // seeds are taken mod 2^32
      const big = run('mt', 2 ** 32 + 7, 4);
      const g7 = new MT19937(7);
      expect(Array.from(big)).toEqual([g7.next(), g7.next(), g7.next(), g7.next()]);
    });

    it("host logf equals our port of glibc's logf over 400k floats in (0, 1]", () => {
      // strided over [2^-48, 1]: the range r2 can take
      const start = 0x27800000;
      const stride = 0x61;
      const count = Math.floor((0x3f800000 - start) / stride);
      const n = Math.min(count, 400_000);
      const ref = run('logf', start, stride * Math.floor(count / n), n);
      const f32 = new Float32Array(1);
      const u32 = new Uint32Array(f32.buffer);
      const fusedMismatch: number[] = [];
      const plainMismatch: number[] = [];
      const step = stride * Math.floor(count / n);
      for (let k = 0; k < n; k++) {
        u32[0] = (start + k * step) >>> 0;
        const x = f32[0]!;
        f32[0] = glibcLogf(x, true);
        if (u32[0] !== ref[k]) fusedMismatch.push(k);
        f32[0] = glibcLogf(x, false);
        if (u32[0] !== ref[k]) plainMismatch.push(k);
      }
      // The host uses one of the two builds; ours must match one of them everywhere.
      expect(Math.min(fusedMismatch.length, plainMismatch.length)).toBe(0);
    });

    it('normal_distribution<float> values, bit for bit, for several seeds (Arm init and step seeds)', () => {
      const fused = detectFused(run);
      for (const seed of [0, 1, 42, 99, 99 + 4564, 12345 + 7 + 4564, 4294967295]) {
        const n = 16384;
        const ref = run('normal', seed, n);
        const s = createNoiseSource(seed, { kind: 'arm-mt19937', fusedLogf: fused });
        const ours = new Float32Array(n);
        s.stream('init').fillNormal(ours);
        expect(bits(ours)).toEqual(ref);
      }
      // step i uses mt19937(seed + i + 4564), wrapping mod 2^32
      const seed = 4294967290;
      const ref = run('normal', (seed + 3 + 4564) % 2 ** 32, 1001);
      const ours = new Float32Array(1001);
      createNoiseSource(seed, { kind: 'arm-mt19937', fusedLogf: fused }).stream('step', 3).fillNormal(ours);
      expect(bits(ours)).toEqual(ref);
    });

    it("Arm's float32 fill_sigmas equals rfSchedule({ float32: true })", async () => {
      const { rfSchedule } = await import('../schedule');
      for (const steps of [1, 2, 8, 16, 50]) {
        const ref = run('sigmas', steps);
        const t = Float32Array.from(rfSchedule({ steps, float32: true }).t);
        expect(bits(t)).toEqual(ref);
      }
    });

    it("pingpong + arm-mt19937 + rfSchedule({ float32 }) reproduces Arm's loop bit for bit (fake DiT)", async () => {
      const { pingpongSampler } = await import('../samplers');
      const { rfSchedule } = await import('../schedule');
      for (const [seed, steps] of [
        [99, 8],
        [4294967000, 8],
        [7, 5],
      ] as const) {
        const n = 4096;
        const outBuf = execFileSync(bin, ['pingpong', String(seed), String(steps), String(n)]);
        const ref = new Uint32Array(
          outBuf.buffer.slice(outBuf.byteOffset, outBuf.byteOffset + outBuf.byteLength),
        );
        const noise = createNoiseSource(seed, { kind: 'arm-mt19937' });
        const x = new Float32Array(n);
        noise.stream('init').fillNormal(x);
        const fr = Math.fround;
        const got = await pingpongSampler().sample({
          model: async (xt, t) => xt.map((v) => fr(fr(0.5 * v) - fr(t))),
          x,
          schedule: rfSchedule({ steps, float32: true }),
          noise,
        });
        expect(new Uint32Array(got.buffer)).toEqual(ref);
      }
    });
  },
);

/** Which logf build the host has, judged on a few thousand values (see the logf test). */
function detectFused(run: (...a: (string | number)[]) => Uint32Array): boolean {
  const start = 0x30000000;
  const stride = 0x3fd;
  const n = 200_000;
  const ref = run('logf', start, stride, n);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  let fusedBad = 0;
  for (let k = 0; k < n; k++) {
    u32[0] = (start + k * stride) >>> 0;
    const x = f32[0]!;
    f32[0] = glibcLogf(x, true);
    if (u32[0] !== ref[k]) fusedBad++;
  }
  return fusedBad === 0;
}

// aarch64 (Arm's target): GCC contracts a·b + c into FMA by default. Needs a cross g++ and qemu-user
// (apt-get install g++-aarch64-linux-gnu qemu-user); skipped otherwise.
const a64 = toolAvailable(
  spawnSync('aarch64-linux-gnu-g++', ['--version']).status === 0 &&
    spawnSync('qemu-aarch64', ['-version']).status === 0,
  'aarch64-linux-gnu-g++ or qemu-aarch64 (the aarch64 bit-equality test)',
);

describe.skipIf(!a64)('Arm loop compiled for aarch64 (g++ default FP contraction, run under qemu)', () => {
  it('pingpong({ fma: true }) + arm-mt19937 reproduces the aarch64 build bit for bit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audiogen-armref-a64-'));
    try {
      const bin = join(dir, 'armref');
      execFileSync('aarch64-linux-gnu-g++', ['-O2', '-std=c++17', '-o', bin, SRC]);
      const run = (...args: (string | number)[]) => {
        const out = execFileSync('qemu-aarch64', ['-L', '/usr/aarch64-linux-gnu', bin, ...args.map(String)], {
          maxBuffer: 64 << 20,
        });
        return new Uint32Array(out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength));
      };
      const { pingpongSampler } = await import('../samplers');
      const { rfSchedule } = await import('../schedule');
      const { fmaf } = await import('../f32');
      // the noise stream itself is the same on aarch64 (libstdc++ does not contract there)
      const noiseRef = run('normal', 99, 16384);
      const ours = new Float32Array(16384);
      createNoiseSource(99, { kind: 'arm-mt19937' }).stream('init').fillNormal(ours);
      expect(new Uint32Array(ours.buffer)).toEqual(noiseRef);
      for (const [seed, steps] of [
        [99, 8],
        [7, 5],
      ] as const) {
        const n = 4096;
        const ref = run('pingpong', seed, steps, n);
        const noise = createNoiseSource(seed, { kind: 'arm-mt19937' });
        const x = new Float32Array(n);
        noise.stream('init').fillNormal(x);
        const got = await pingpongSampler({ name: 'pingpong', fma: true }).sample({
          // the fake DiT 0.5f*x - t, contracted by the compiler too
          model: async (xt, t) => xt.map((v) => fmaf(0.5, v, -Math.fround(t))),
          x,
          schedule: rfSchedule({ steps, float32: true }),
          noise,
        });
        expect(new Uint32Array(got.buffer)).toEqual(ref);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('libstdc++ normal_distribution<float> model', () => {
  it('caches the second value of each polar pair', () => {
    const a = new LibstdcxxNormalFloat(new MT19937(1));
    const b = new LibstdcxxNormalFloat(new MT19937(1));
    const va = [a.next(), a.next(), a.next()];
    const vb = [b.next(), b.next(), b.next()];
    expect(va).toEqual(vb);
  });
});
