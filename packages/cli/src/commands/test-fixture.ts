// What the CLI's generate tests share: a tiny random model folder in a temp folder and the options of a
// quick generate.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeRandomStableAudioFolder } from '@audiogen/convert';
import { afterAll, beforeAll } from 'vitest';
import type { GenerateCliOptions } from './generate';

export interface TinyModels {
  /** The temp folder (removed after the test file). */
  dir: string;
  /** A tiny random Stable Audio folder inside it, written before the file's tests. */
  models: string;
  /** Generate options for `models`, writing `dir/out.wav`, with `o` on top. */
  opts(o?: Partial<GenerateCliOptions>): GenerateCliOptions;
}

/** Registers the folder's beforeAll/afterAll in the calling test file. */
export function useTinyModels(name: string): TinyModels {
  const dir = mkdtempSync(join(tmpdir(), `audiogen-cli-${name}-`));
  const models = join(dir, 'models');
  beforeAll(() => writeRandomStableAudioFolder({ out: models, tiny: true, seed: 5 }));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const opts = (o: Partial<GenerateCliOptions> = {}): GenerateCliOptions => ({
    models,
    variations: 1,
    format: 'pcm16',
    out: join(dir, 'out.wav'),
    json: false,
    noise: 'philox',
    raw: false,
    progress: false,
    ...o,
  });
  return { dir, models, opts };
}
