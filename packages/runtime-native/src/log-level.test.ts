import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { canSpawnNode } from './test-child';

// TFLite's own logger prints "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." at the first compile;
// LiteRT's severity option does not reach it, so the runtime filters lines below the level while loading.
const fixture = fileURLToPath(new URL('../fixtures/add_fc.tflite', import.meta.url));
const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/** Loads and runs the fixture in a fresh process (TFLite logs once per process) and returns its stderr. */
function stderrOf(level: string | undefined): string {
  const script = `
    const { createNativeRuntime } = await import(${JSON.stringify(dist)});
    const rt = createNativeRuntime(${level ? JSON.stringify({ logLevel: level }) : ''});
    const m = await rt.load(${JSON.stringify(fixture)});
    m.dispose();
    process.stderr.write('js line during the run\\n');
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stderr;
}

describe.skipIf(!canSpawnNode)('log level reaches TFLite’s own logger', () => {
  it("nothing below the level reaches stderr (default 'error'); 'info' lets the delegate line through", () => {
    for (const level of [undefined, 'error', 'warning']) {
      expect(stderrOf(level)).toBe('js line during the run\n');
    }
    const info = stderrOf('info');
    expect(info).toMatch(/^INFO: Created TensorFlow Lite XNNPACK delegate for CPU\.$/m);
    expect(info).toMatch(/js line during the run\n$/);
  });
});
