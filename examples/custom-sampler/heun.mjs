// An app's own sampler: Heun's method (2nd order, deterministic) on dx/dt = v.
// A sampler is data (its config) plus a sample() function with the shared signature; anything
// random must come from args.noise so a seed fully determines the output (Heun draws nothing).
import { AudiogenError, throwIfAborted } from '@audiogen/core';

/** @param {import('@audiogen/core').SamplerConfig} config */
export function heunSampler(config) {
  return {
    config: Object.freeze({ ...config }),
    /** @param {import('@audiogen/core').SampleArgs} args */
    async sample({ model, x: x0, schedule, callback, signal }) {
      const t = schedule.t;
      if (t.length < 2) throw new AudiogenError('INVALID_ARGUMENT', 'heun needs at least one step');
      let x = Float32Array.from(x0); // never mutate the caller's x
      const steps = t.length - 1;
      for (let i = 0; i < steps; i++) {
        throwIfAborted(signal, 'sampling');
        const [tc, tn] = [t[i], t[i + 1]];
        const h = tn - tc;
        const v = await model(x, tc, i);
        const pred = x.map((xv, j) => xv + h * v[j]);
        let next = pred;
        if (tn > 0) {
          // average the slopes at both ends (the model is not evaluated at t = 0)
          const v2 = await model(pred, tn, i);
          next = x.map((xv, j) => xv + (h / 2) * (v[j] + v2[j]));
        }
        const denoised = x.map((xv, j) => xv - tc * v[j]);
        x = next;
        if (callback && (await callback({ step: i, steps, t: tc, tNext: tn, x, denoised })) === false) break;
      }
      return x;
    },
  };
}
