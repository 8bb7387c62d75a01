import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from '../index';
import { runInspect } from './inspect';

const fixture = (n: string) => fileURLToPath(new URL(`../../../core/fixtures/${n}.tflite`, import.meta.url));

describe('audiogen inspect', () => {
  it('prints a JSON report of a litert-torch model', () => {
    let text = '';
    runInspect(fixture('mlp'), { json: true }, { stdout: (t) => (text += t) });
    const r = JSON.parse(text);
    expect(r.ops.FULLY_CONNECTED).toBe(3);
    expect(r.inputs[0].shape).toEqual([4, 16]);
    expect(r.outputs[0].shape).toEqual([4, 8]);
    // 16*32+32 + 32*32+32 + 32*8+8 parameters of the three Linear layers.
    expect(r.parameters.byType.FLOAT32.count).toBe(16 * 32 + 32 + 32 * 32 + 32 + 32 * 8 + 8);
    expect(r.signatures[0].key).toBe('serving_default');
  });

  it('prints a table by default and fails with a typed error on a bad file', async () => {
    let text = '';
    runInspect(fixture('conv1d'), {}, { stdout: (t) => (text += t) });
    expect(text).toMatch(/TRANSPOSE_CONV/);
    expect(text).toMatch(/signature "serving_default"/);
    const errors: string[] = [];
    const orig = console.error;
    console.error = (m: string) => errors.push(m);
    try {
      const code = await main([
        'node',
        'audiogen',
        'inspect',
        fixture('conv1d').replace('conv1d.tflite', 'conv1d.input0.npy'),
      ]);
      expect(code).toBe(1);
      expect(errors.join('\n')).toMatch(/INVALID_TFLITE/);
    } finally {
      console.error = orig;
    }
  });
});
