// Swapping diffusion samplers by name, and registering an app's own, on a fake denoiser.
// Usage: npm start -w @audiogen-examples/custom-sampler   (after `npx turbo run build`)
import { pathToFileURL } from 'node:url';
import {
  createNoiseSource,
  createSampler,
  listSamplers,
  registerSampler,
  scheduleFor,
} from '@audiogen/sampler';
import { heunSampler } from './heun.mjs';

/**
 * A fake denoiser: the data is Gaussian, x0 ~ N(mu, s²) per channel, so the ideal rectified-flow
 * velocity is known in closed form. Real apps get a Denoiser from @audiogen/stable-audio.
 */
export function fakeDenoiser(mu = 0.5, s = 0.2) {
  let calls = 0;
  return {
    latentShape: [1, 8, 32],
    get calls() {
      return calls;
    },
    async denoise(x, t) {
      calls++;
      const variance = (1 - t) ** 2 * s * s + t * t;
      const k = (t - (1 - t) * s * s) / variance;
      return x.map((v) => -mu + k * (v - (1 - t) * mu));
    },
  };
}

// With an ideal (not distilled) denoiser, few-step Euler/DPM++ and ping-pong (which returns the
// posterior mean x̂0 at its last step) shrink the spread; RK4 solves the ODE closely. A distilled
// model such as Stable Audio Open Small is trained for 8 ping-pong steps.

/** Sampler settings as plain data, e.g. read from a JSON settings file. */
export const SETTINGS = [
  { name: 'pingpong', steps: 8 },
  { name: 'euler', steps: 8 },
  { name: 'dpmpp', steps: 8 },
  { name: 'rk4', steps: 4 },
  { name: 'heun', steps: 6, schedule: 'linear' },
];

export async function main(log = console.log) {
  registerSampler('heun', heunSampler);
  log(`registered samplers: ${listSamplers().join(', ')}`);
  const results = [];
  for (const config of SETTINGS) {
    const denoiser = fakeDenoiser();
    const sampler = createSampler(config); // by name
    const noise = createNoiseSource(42); // same seed for every sampler
    const x = new Float32Array(8 * 32);
    noise.stream('init').fillNormal(x);
    const out = await sampler.sample({
      model: (xt, t) => denoiser.denoise(xt, t),
      x,
      schedule: scheduleFor(config),
      noise,
    });
    const mean = out.reduce((a, v) => a + v, 0) / out.length;
    const std = Math.sqrt(out.reduce((a, v) => a + (v - mean) ** 2, 0) / (out.length - 1));
    results.push({ name: config.name, calls: denoiser.calls, mean, std });
    log(
      `${JSON.stringify(config).padEnd(48)} model calls ${String(denoiser.calls).padStart(2)}  ` +
        `mean ${mean.toFixed(3)} (data 0.500)  std ${std.toFixed(3)} (data 0.200)`,
    );
  }
  return results;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
