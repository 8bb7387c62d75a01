#!/usr/bin/env node
// Plain-node check of the built package against the Python LiteRT reference outputs (no vitest), for
// environments where the dev toolchain cannot run (e.g. the arm64 node under QEMU: npm run test:arm64).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNativeRuntime, describeHost } from '../dist/index.js';

const fx = (n) => join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', n);
const ref = JSON.parse(readFileSync(fx('reference.json'), 'utf8'));
const rt = createNativeRuntime({ threads: 1 });
const f32 = (e) => ({ dtype: 'float32', shape: e.shape, data: Float32Array.from(e.data) });
const maxDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
let failures = 0;
const check = (name, ok, info) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${info ? ` (${info})` : ''}`);
  if (!ok) failures++;
};

const h = describeHost();
console.log(
  `${h.platform}-${h.arch} ${h.cpuModel}; features: ${Object.entries(h.cpuFeatures)
    .filter(([, v]) => v)
    .map(([k]) => k)
    .join(' ')}`,
);
console.log(`kernels: ${h.kernels.join('; ')}`);
check('engine pinned', h.engine.available && h.engine.libraryPinned === true, h.engine.librarySha256);

const a = await rt.load(fx('add_fc.tflite'));
const o = await a.run({ x: f32(ref.add_fc.inputs.x), y: f32(ref.add_fc.inputs.y) });
const d1 = maxDiff(Array.from(o.z.data), ref.add_fc.outputs.z.data);
check('add_fc vs Python LiteRT', d1 < 1e-5, `max diff ${d1}`);
a.dispose();

const i64 = await rt.load(fx('int64_add.tflite'));
const ids = ref.int64_add.inputs.ids;
const oi = await i64.run({
  ids: { dtype: 'int64', shape: ids.shape, data: BigInt64Array.from(ids.data.map(BigInt)) },
});
check(
  'int64_add exact',
  Array.from(oi.out.data).map(String).join() === ref.int64_add.outputs.out.data.join(),
);
i64.dispose();

for (const fp16 of [false, true]) {
  const m = await rt.load(fx('fc_probe.tflite'), { forceFp16: fp16 });
  const y = await m.run({ x: f32(ref.fc_probe.inputs.x) });
  const r = fp16 ? ref.fc_probe.outputs_fp16.y.data : ref.fc_probe.outputs.y.data;
  const d = maxDiff(Array.from(y.y.data), r);
  check(`fc_probe ${fp16 ? 'FORCE_FP16' : 'fp32'} vs Python LiteRT`, d < 2e-3, `max diff ${d}`);
  m.dispose();
}

const dyn = await rt.load(fx('dynamic_mul.tflite'));
const od = await dyn.run({ x: { dtype: 'float32', shape: [3, 4], data: new Float32Array(12).fill(2) } });
check('dynamic resize', od.y.shape.join() === '3,4' && od.y.data.every((v) => v === 4));
dyn.dispose();

try {
  await rt.load(fx('custom_op.tflite'));
  check('unsupported op rejected', false);
} catch (e) {
  check('unsupported op rejected', e.code === 'UNSUPPORTED_OPS', e.code);
}
console.log(failures ? `${failures} failure(s)` : 'all checks passed');
process.exit(failures ? 1 : 0);
