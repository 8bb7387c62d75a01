#!/usr/bin/env node
// Which form of the Oobleck decoder's transposed convs is fastest, per layer, on this CPU (dev-time, after
// `npm run build`; run under `flock /tmp/audiogen-bench.lock`). Micro-graphs of the real shapes (full-size
// Stable Audio Open Small decoder: stride 8 ×2, 4 ×2, 2; the input length of each), one op each:
//   native  TRANSPOSE_CONV (k = 2s, stride s, SAME)
//   conv3   CONV_2D k=3 to s·C channels (zero taps where a phase does not reach) + RESHAPE (depth-to-space)
//   conv2   PAD + CONV_2D k=2 VALID to s·C channels (no zero taps) + RESHAPE + STRIDED_SLICE (s/2 frames off each end)
// in fp32 and dynamic int8 (sao-decoder-int8 recipe), interleaved over --rounds; process CPU time per run
// (median), 2 threads by default. The converter's `transposedConv` option takes the per-layer choice.
//   options: --rounds 5 --threads 2 --layers 1,2,3,4,5 --json out.json
import { writeFileSync } from 'node:fs';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const rounds = Number(arg('rounds', '5'));
const threads = Number(arg('threads', '2'));
const { buildTransposedConvMicro, decoderUpsamplers, STABLE_AUDIO_OPEN_SMALL } = await import(
  '@audiogen/convert'
);
const { writeTflite } = await import('@audiogen/core/tflite');
const { quantizeModel, loadRecipe } = await import('@audiogen/quantize');
const { createNativeRuntime, hostCpu } = await import('@audiogen/runtime-native');
const runtime = createNativeRuntime();
const cpu = hostCpu();
console.error(
  `host: ${cpu.cpuModel} (${Object.keys(cpu.features)
    .filter((k) => cpu.features[k] && /avx512f$|vnni|avx2/.test(k))
    .join(' ')})`,
);

const FORMS = ['native', 'conv3', 'conv2'];
const layers = decoderUpsamplers(STABLE_AUDIO_OPEN_SMALL).map((l) => ({ ...l, length: l.frames }));
const pick = arg('layers', '1,2,3,4,5').split(',').map(Number);
const int8 = await loadRecipe('sao-decoder-int8');
const models = [];
for (const l of layers.filter((x) => pick.includes(x.block))) {
  for (const form of FORMS) {
    const g = buildTransposedConvMicro({ ...l, form, seed: l.block });
    models.push({ ...l, form, precision: 'fp32', bytes: writeTflite(g) });
    models.push({ ...l, form, precision: 'int8', bytes: quantizeModel(g, int8).model });
  }
}
const loaded = [];
for (const m of models) {
  const model = await runtime.load(m.bytes, { threads, label: `${m.block}/${m.form}/${m.precision}` });
  const input = model.inputs[0];
  const data = new Float32Array(input.shape.reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(i * 0.37));
  const feed = { [input.name]: { dtype: 'float32', shape: input.shape, data } };
  await model.run(feed); // warm-up: weight packing
  loaded.push({ m, model, feed, cpu: [], wall: [], out: undefined });
}
for (let r = 0; r < rounds; r++) {
  for (const x of loaded) {
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    const out = await x.model.run(x.feed);
    x.wall.push(performance.now() - w0);
    const c = process.cpuUsage(c0);
    x.cpu.push((c.user + c.system) / 1000);
    x.out ??= Object.values(out)[0].data;
  }
}
const med = (a) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
const rows = [];
const pad = (v, n) => String(v).padStart(n);
console.log(
  `Transposed convs of the full-size decoder, ${threads} threads, ${rounds} interleaved rounds, median process CPU ms (wall in the JSON)`,
);
console.log(
  `block stride  length  cin->cout  precision ${FORMS.map((f) => pad(`${f} cpu`, 11)).join(' ')} ${FORMS.slice(
    1,
  )
    .map((f) => pad(`${f}/native`, 13))
    .join(' ')}  max|diff| vs native`,
);
for (const l of layers.filter((x) => pick.includes(x.block))) {
  for (const precision of ['fp32', 'int8']) {
    const of = (form) =>
      loaded.find((x) => x.m.block === l.block && x.m.form === form && x.m.precision === precision);
    const nat = of('native');
    const row = { block: l.block, stride: l.stride, length: l.length, cin: l.cin, cout: l.cout, precision };
    const diffs = [];
    for (const form of FORMS) {
      const x = of(form);
      let diff = 0;
      for (let i = 0; i < nat.out.length; i++) diff = Math.max(diff, Math.abs(nat.out[i] - x.out[i]));
      row[form] = { cpu: med(x.cpu), wall: med(x.wall), maxDiffVsNative: diff };
      if (form !== 'native') diffs.push(`${form} ${diff.toExponential(2)}`);
    }
    rows.push(row);
    console.log(
      `${pad(l.block, 5)} ${pad(l.stride, 6)} ${pad(l.length, 7)} ${pad(`${l.cin}->${l.cout}`, 10)} ${pad(precision, 9)} ${FORMS.map((f) => pad(row[f].cpu.toFixed(0), 11)).join(' ')} ${FORMS.slice(
        1,
      )
        .map((f) => pad((row[f].cpu / row.native.cpu).toFixed(3), 13))
        .join(' ')}  ${diffs.join(', ')}`,
    );
  }
}
for (const x of loaded) x.model.dispose();
const out = arg('json');
if (out) writeFileSync(out, `${JSON.stringify({ host: cpu, threads, rounds, rows }, null, 1)}\n`);
