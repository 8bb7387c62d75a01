#!/usr/bin/env node
// Plain-node check of the built package (no vitest), for environments where the dev toolchain cannot
// run: the arm64 node under QEMU (npm run test:arm64, ARM64_FIXTURES_ONLY=1) and the official Windows
// node under Wine (npm run test:win32; vitest's native bindings need newer Windows APIs than Wine 8 has).
// Covers: outputs vs the Python LiteRT reference, typed errors, LiteRT's own error text (the buffer
// reporter, and the stderr capture of a failed compile: the addon's OS-specific part), abort, dispose.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeTflite } from '@audiogen/core/tflite';
import { createNativeRuntime, describeHost, loadAddon } from '../dist/index.js';
import { unknownVersionModel } from './error-models.mjs';

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
// Typed errors, before and from LiteRT.
const code = async (p) => {
  try {
    await p;
    return 'no error';
  } catch (e) {
    return e.code ?? String(e);
  }
};
const x = f32(ref.add_fc.inputs.x);
const y = f32(ref.add_fc.inputs.y);
check('missing file', (await code(rt.load(fx('no-such-model.tflite')))) === 'MISSING_FILE');
check('garbage bytes', (await code(rt.load(new Uint8Array(64).fill(7)))) === 'INVALID_TFLITE');
const m = await rt.load(fx('add_fc.tflite'));
check(
  'wrong dtype',
  (await code(m.run({ x: { ...x, dtype: 'int32', data: new Int32Array(4) }, y }))) === 'INVALID_ARGUMENT',
);
check('missing input', (await code(m.run({ x }))) === 'MISSING_INPUT');
check('unknown signature', (await code(m.run({ x, y }, { signature: 'nope' }))) === 'NOT_FOUND');
const pre = new AbortController();
pre.abort();
check('abort before a run', (await code(m.run({ x, y }, { signal: pre.signal }))) === 'ABORTED');
m.dispose();
check('run after dispose', (await code(m.run({ x, y }))) === 'DISPOSED');

// LiteRT's text: the reporter (prepare of an unresolved custom op) and, for a compile that fails, the
// retry with fd 2 captured (StderrCapture: pipe + drain thread, POSIX or the Windows CRT's _pipe).
const litert = async (p) => {
  try {
    await p;
    return null;
  } catch (e) {
    return e.details?.litert ?? { source: 'none', messages: [] };
  }
};
const custom = await litert(rt.load(fx('custom_op.tflite')));
check(
  "LiteRT's reporter text on the error",
  custom?.source === 'error-reporter' && custom.messages.some((l) => l.includes('AudiogenNoSuchOp')),
  custom && `${custom.source}: ${custom.messages[0]}`,
);
const tmp = mkdtempSync(join(tmpdir(), 'audiogen-check-'));
const add99 = join(tmp, 'add_v99.tflite');
writeFileSync(add99, writeTflite(unknownVersionModel('ADD', 99)));
const v99 = await litert(rt.load(add99));
rmSync(tmp, { recursive: true, force: true });
check(
  'failed compile: text captured from stderr',
  v99?.source === 'stderr' && v99.messages.some((l) => l.includes("'ADD' version '99'")),
  v99 && `${v99.source}: ${v99.messages[0]}`,
);
const cap = loadAddon().addon._testStderrCapture(100_000);
check(
  'stderr capture keeps head and tail of 100 KB',
  cap.started &&
    cap.text.startsWith('capture-test line 00000000') &&
    /bytes of stderr not kept/.test(cap.text) &&
    cap.text.includes('capture-test line 00003702'), // 27-byte lines: the last whole one is 3702
  `${cap.text.length} chars kept`,
);

// Abort during a heavy run (LiteRT's cancellation callback); the model stays usable.
const n = 512;
const big = { dtype: 'float32', shape: [1, n, n], data: new Float32Array(n * n).fill(0.5) };
const mm = await rt.load(fx('matmul_chain.tflite'));
const ac = new AbortController();
const running = mm.run({ a: big, b: big }, { signal: ac.signal });
setTimeout(() => ac.abort(), 1);
check('abort during a run', (await code(running)) === 'ABORTED');
const after = await mm.run({ a: big, b: big });
check('usable after an abort', after.y.shape.join() === `1,${n},${n}` && after.y.data.every(Number.isFinite));
mm.dispose();

console.log(failures ? `${failures} failure(s)` : 'all checks passed');
process.exit(failures ? 1 : 0);
