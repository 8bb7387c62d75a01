import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runConvert } from './commands/convert';
import { runQuantize } from './commands/quantize';
import { createReporter, generationProgress, progressMode } from './progress';

const LINE = /^\[\s*\d+\.\ds\] ( {4}|[ \d]{3}%) \S/;

describe('one progress style', () => {
  it('mode: none with --quiet, --no-progress or --json; bars on a TTY; lines otherwise', () => {
    const tty = { isTTY: true };
    const pipe = { isTTY: false };
    expect(progressMode({ quiet: true }, tty)).toBe('none');
    expect(progressMode({ progress: false }, tty)).toBe('none');
    expect(progressMode({ json: true }, pipe)).toBe('none');
    expect(progressMode({}, tty)).toBe('bars');
    expect(progressMode({}, pipe)).toBe('lines');
  });

  it('lines: stage lines with percent and times; steps one line each; library text one line per 10%', () => {
    let t = 0;
    const lines: string[] = [];
    const r = createReporter('lines', { write: (l) => lines.push(l), now: () => t });
    const on = generationProgress(r, 2);
    on({ type: 'load', model: 'dit', done: false });
    t = 1500;
    on({ type: 'load', model: 'dit', done: true, ms: 1500 });
    for (let s = 0; s < 4; s++)
      on({ type: 'step', variation: 1, step: s, steps: 4, t: 1, tNext: 0.5, ms: 250 });
    expect(lines).toEqual([
      '[   0.0s]   0% load dit …',
      '[   1.5s] 100% load dit done · 1500 ms',
      '[   1.5s]  25% denoise 2/2 1/4 · 250 ms/step',
      '[   1.5s]  50% denoise 2/2 2/4 · 250 ms/step',
      '[   1.5s]  75% denoise 2/2 3/4 · 250 ms/step',
      '[   1.5s] 100% denoise 2/2 4/4 · 250 ms/step',
    ]);
    lines.length = 0;
    for (let i = 0; i <= 100; i++) r.message(`dit: block ${i}/100`, i / 100);
    r.message('decoder: block 1/10', 0);
    expect(lines.length).toBe(12);
    expect(lines.every((l) => LINE.test(l))).toBe(true);
    const none = createReporter('none');
    none.begin('x');
    none.close();
  });

  describe('convert and quantize speak it too (not a TTY)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'audiogen-progress-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    it('a bounded number of lines in the shared format', async () => {
      const prev = process.env.AUDIOGEN_PROGRESS;
      process.env.AUDIOGEN_PROGRESS = 'lines';
      try {
        const conv: string[] = [];
        await runConvert(
          'stable-audio-open-small',
          { out: join(dir, 'm'), randomWeights: true, tiny: true, seed: '1', encoder: false },
          { stdout: () => {}, stderr: (l) => conv.push(l) },
        );
        const progress = conv.filter((l) => !l.startsWith('note:'));
        expect(progress.length).toBeGreaterThan(3);
        expect(progress.every((l) => LINE.test(l))).toBe(true);
        const q: string[] = [];
        await runQuantize(
          join(dir, 'm', 'dit_model.tflite'),
          { out: join(dir, 'dit.int8.tflite'), recipe: 'dynamic_wi8_afp32' },
          { stdout: () => {}, stderr: (l) => q.push(l) },
        );
        expect(q.length).toBeGreaterThan(2);
        expect(q.length).toBeLessThanOrEqual(25);
        expect(q.every((l) => LINE.test(l))).toBe(true);
      } finally {
        if (prev === undefined) delete process.env.AUDIOGEN_PROGRESS;
        else process.env.AUDIOGEN_PROGRESS = prev;
      }
    });
  });
});
