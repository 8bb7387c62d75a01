// The examples run from any folder and write only under the repository's gitignored out/. Each example is
// copied into a scratch repository layout (its node_modules linked to ours, the demo's model folder built in
// models/random-tiny) and run with no arguments from an unrelated empty folder. Needs `npm run build`.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoModels } from '../scripts/demo-models.mjs';
import { cleanEnv, ROOT } from './workspace';

const EXAMPLES = ['generate', 'variations', 'quantize-dit', 'convert-checkpoint', 'convert-onnx'];

const scratch = mkdtempSync(join(tmpdir(), 'audiogen-examples-'));
const repo = join(scratch, 'repo');
const cwd = join(scratch, 'elsewhere');

/** Every file under `dir`, relative to it, with forward slashes. */
function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p).split('\\').join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

describe('examples', () => {
  beforeAll(async () => {
    mkdirSync(cwd, { recursive: true });
    mkdirSync(join(repo, 'packages', 'convert', 'fixtures', 'onnx'), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(repo, 'node_modules'), 'dir');
    cpSync(
      join(ROOT, 'packages', 'convert', 'fixtures', 'onnx', 't5_encoder.onnx'),
      join(repo, 'packages', 'convert', 'fixtures', 'onnx', 't5_encoder.onnx'),
    );
    for (const name of EXAMPLES)
      cpSync(join(ROOT, 'examples', name), join(repo, 'examples', name), {
        recursive: true,
        filter: (src) => !src.includes('node_modules'),
      });
    await writeDemoModels(join(repo, 'models', 'random-tiny'));
  }, 120_000);

  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it.each(EXAMPLES)('%s runs from another folder and writes only under out/examples/<its name>/', (name) => {
    const before = new Set(files(repo));
    const r = spawnSync(process.execPath, [join(repo, 'examples', name, 'index.mjs')], {
      cwd,
      env: cleanEnv(),
      encoding: 'utf8',
      timeout: 300_000,
    });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(readdirSync(cwd), 'files written into the working folder').toEqual([]);
    const written = files(repo).filter((f) => !before.has(f));
    expect(written.length, `${name} wrote nothing`).toBeGreaterThan(0);
    for (const f of written) {
      expect(f.startsWith(`out/examples/${name}/`), `${f} is outside out/examples/${name}/`).toBe(true);
      // …and git ignores it: the repository's own .gitignore decides.
      const ignored = spawnSync('git', ['check-ignore', '-q', '--no-index', f], { cwd: ROOT });
      expect(ignored.status, `${f} is not gitignored`).toBe(0);
    }
  });
});
