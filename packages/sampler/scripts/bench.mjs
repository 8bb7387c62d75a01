// Noise-stream and sampler-overhead timings for a Stable Audio Open Small latent [1, 64, 256].
// Run after a build: npm run bench -w @audiogen/sampler   (wrap in `flock /tmp/audiogen-bench.lock`)
import { createNoiseSource, createSampler, rfSchedule } from '../dist/index.js';

const n = 64 * 256;
const out = new Float32Array(n);
const ms = (f, reps) => {
  for (let w = 0; w < 3; w++) f(w);
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) f(r);
  return (performance.now() - t0) / reps;
};
for (const kind of ['philox', 'arm-mt19937']) {
  const src = createNoiseSource(1, { kind });
  const t = ms((r) => src.stream('step', r).fillNormal(out), 50);
  console.log(`${kind.padEnd(12)} ${t.toFixed(2)} ms per ${n} normals`);
}
const model = async (x) => new Float32Array(x.length);
for (const config of [
  { name: 'pingpong' },
  { name: 'pingpong', fma: true },
  { name: 'euler' },
  { name: 'dpmpp' },
  { name: 'rk4' },
]) {
  const s = createSampler(config);
  const args = () => ({
    model,
    x: new Float32Array(n),
    schedule: rfSchedule({ steps: 8 }),
    noise: createNoiseSource(1),
  });
  for (let w = 0; w < 3; w++) await s.sample(args());
  const t0 = performance.now();
  await s.sample(args());
  console.log(
    `${JSON.stringify(config).padEnd(32)} ${((performance.now() - t0) / 8).toFixed(2)} ms per step (model excluded)`,
  );
}
