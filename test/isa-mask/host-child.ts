// Run under scripts/isa-mask.mjs by isa-mask.test.ts: what the SDK sees and does on the masked CPU.
import { readFileSync } from 'node:fs';
import { createNativeRuntime, hostCpu } from '@audiogen/runtime-native';
import { int8Verdict } from '@audiogen/stable-audio';

const [model, input] = process.argv.slice(2) as [string, string];
const cpu = hostCpu();
// Node's WebAssembly trap handler must still turn an out-of-bounds load into a RuntimeError.
// (module (memory 1) (func (export "f") (param i32) (result i32) local.get 0 i32.load))
const wasm = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 6, 1, 96, 1, 127, 1, 127, 3, 2, 1, 0, 5, 3, 1, 0, 1, 7, 5, 1, 1, 102, 0, 0,
  10, 9, 1, 7, 0, 32, 0, 40, 2, 0, 11,
]);
const f = new WebAssembly.Instance(new WebAssembly.Module(wasm)).exports.f as (i: number) => number;
let wasmTrap = '';
try {
  f(1 << 30);
} catch (e) {
  wasmTrap = (e as Error).constructor.name;
}
const x = new Float32Array(JSON.parse(readFileSync(input, 'utf8')) as number[]);
const m = await createNativeRuntime().load(model);
const spec = m.inputs[0]!;
const out = await m.run({ [spec.name]: { dtype: 'float32', shape: spec.shape, data: x } });
await m.dispose();
console.log(
  JSON.stringify({
    features: cpu.features,
    source: cpu.featureSource,
    int8Pays: int8Verdict(cpu).pays,
    wasmTrap,
    y: Array.from(Object.values(out)[0]!.data as Float32Array),
  }),
);
