// Used by test-arm64.sh: prints the address range of libLiteRt.so's code, and with RUN=1 also runs one
// fp32 FC model (the same script both times, so that the guest address layout is the same).
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const m = require('../dist/index.cjs');
m.loadAddon();
const line = readFileSync('/proc/self/maps', 'utf8')
  .split('\n')
  .find((s) => s.includes('libLiteRt.so') && s.includes('r-xp'));
const [a, b] = line.split(' ')[0].split('-');
console.log(`0x${a}..0x${b}`);
if (process.env.RUN) {
  (async () => {
    const rt = m.createNativeRuntime({ threads: 1 });
    const model = await rt.load(join(__dirname, '..', 'fixtures', 'fc_probe.tflite'));
    await model.run({ x: { dtype: 'float32', shape: [1, 512], data: new Float32Array(512).fill(1) } });
    model.dispose();
  })();
}
