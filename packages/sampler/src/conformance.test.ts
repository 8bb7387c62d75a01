// Conformance with stable-audio-tools 0.0.19 (the reference implementation) run through torch.
// Heavy (imports torch): runs only with AUDIOGEN_CONFORMANCE=1 and the torch venv
// (`npm run conformance -w @audiogen/sampler`); skipped in `npm test`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { VelocityFn } from '@audiogen/core';
import { describe, expect, it } from 'vitest';
import { scheduleFor } from './config';
import { cfgGuidance } from './guidance';
import { createNoiseSource } from './rng/index';
import { createSampler } from './samplers';
import { mixInitLatents, rfSchedule } from './schedule';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const python = `${root}.venv-torch/bin/python`;
const script = fileURLToPath(new URL('../scripts/sat_reference.py', import.meta.url));
const enabled = process.env.AUDIOGEN_CONFORMANCE === '1' && existsSync(python);
if (process.env.AUDIOGEN_CONFORMANCE === '1' && !enabled) {
  console.warn(`[sampler] conformance skipped: ${python} not found (run scripts/setup-conformance.sh)`);
}

const C = 4;
const T = 16;
const shape = [1, C, T];
const MU = [0.5, -1, 2, 0];
const S = [0.3, 0.8, 0.5, 1];
const velocity: VelocityFn = async (x, t) => {
  const v = new Float32Array(x.length);
  for (let j = 0; j < x.length; j++) {
    const c = Math.floor(j / T);
    const mu = MU[c]!;
    const s = S[c]!;
    const var_ = (1 - t) ** 2 * s * s + t * t;
    v[j] = -mu + ((t - (1 - t) * s * s) / var_) * (x[j]! - (1 - t) * mu);
  }
  return v;
};

describe.skipIf(!enabled)('conformance with stable-audio-tools 0.0.19 (torch)', () => {
  for (const [steps, sigmaMax] of [
    [8, 1],
    [5, 0.6],
  ] as const) {
    it(`sample_rf euler/rk4/dpmpp/pingpong, steps ${steps}, sigmaMax ${sigmaMax}`, () => {
      const n = C * T;
      const src = createNoiseSource(77);
      const noise = new Float32Array(n);
      src.stream('init').fillNormal(noise);
      const init = sigmaMax < 1 ? Float32Array.from({ length: n }, (_, i) => Math.sin(i)) : undefined;
      const x = init ? mixInitLatents(init, noise, sigmaMax) : noise;
      const stepNoise = Array.from({ length: steps }, (_, i) => {
        const e = new Float32Array(n);
        src.stream('step', i).fillNormal(e);
        return Array.from(e);
      });
      const cond = Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.7) * 2);
      const uncond = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.3));
      const req = {
        x: Array.from(noise),
        init: init ? Array.from(init) : null,
        shape,
        mu: MU,
        s: S,
        steps,
        sigmaMax,
        noise: stepNoise,
        cfg: { cond: Array.from(cond), uncond: Array.from(uncond), scale: 4, phi: 0.7 },
      };
      const r = spawnSync(python, [script], {
        input: JSON.stringify(req),
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      });
      expect(r.status, r.stderr).toBe(0);
      const ref = JSON.parse(r.stdout) as {
        schedule: number[];
        results: Record<string, number[]>;
        cfg: number[];
      };

      // schedule: torch float32 vs ours (float64) within one float32 ulp
      const ours = rfSchedule({ steps, sigmaMax }).t;
      for (const [i, v] of ref.schedule.entries()) expect(Math.abs(v - ours[i]!)).toBeLessThanOrEqual(6e-8);

      return (async () => {
        for (const name of ['euler', 'rk4', 'dpmpp', 'pingpong']) {
          const got = await createSampler({ name }).sample({
            model: velocity,
            x,
            schedule: scheduleFor({ name, steps, sigmaMax }),
            noise: src,
          });
          const want = ref.results[name]!;
          let worst = 0;
          for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
          console.log(
            `[conformance] ${name} steps=${steps} sigmaMax=${sigmaMax}: max |ours − stable-audio-tools| = ${worst.toExponential(2)}`,
          );
          expect(worst, name).toBeLessThan(2e-6);
        }
        const g = cfgGuidance({ scale: 4, rescale: 0.7, shape });
        const out = g.combine(cond, uncond, 0.5);
        let worst = 0;
        for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(out[i]! - ref.cfg[i]!));
        console.log(`[conformance] cfg rescale: max diff ${worst.toExponential(2)}`);
        expect(worst).toBeLessThan(2e-6);
      })();
    }, 120_000);
  }
});
