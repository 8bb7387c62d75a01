// A download killed (SIGKILL) at random points resumes where it stopped and ends with the verified file;
// nothing unverified ever appears under a final name, and a partial damaged between runs is detected.

import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomFloats } from '@audiogen/core/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleScript } from '../../../test/child-script';
import { type FakeHub, startFakeHub } from './test';

const dir = mkdtempSync(join(tmpdir(), 'audiogen-hub-kill-'));
const SIZE = 6 * 1024 * 1024 + 3;
const data = randomBytes(SIZE);
const sha = createHash('sha256').update(data).digest('hex');
let hub: FakeHub;
let bundle: string;

beforeAll(async () => {
  hub = await startFakeHub({ repos: [{ id: 'org/big', files: { 'model.safetensors': data } }] });
  // ~1.5 s per full download, so kills land mid-transfer.
  hub.behaviour.bytesPerSecond = 4 * 1024 * 1024;
  const script = join(dir, 'child.ts');
  writeFileSync(
    script,
    `import { pullFiles } from ${JSON.stringify(fileURLToPath(new URL('./pull.ts', import.meta.url)))};
const [endpoint, cacheDir] = process.argv.slice(2);
const r = await pullFiles({
  repo: 'org/big', files: ['model.safetensors'], endpoint, cacheDir, token: false, offline: false,
  onEvent: (e) => { if (e.type === 'restart') process.stdout.write('restart ' + e.reason + '\\n'); },
});
process.stdout.write('done ' + r.files['model.safetensors'] + '\\n');
`,
  );
  bundle = join(dir, 'child.mjs');
  await bundleScript(script, bundle);
});
afterAll(async () => {
  await hub.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('killed downloads', () => {
  it('resume after SIGKILL at random points and end verified; a damaged partial is detected', async () => {
    const seed = Number(process.env.KILL_SEED ?? Date.now() % 1e9);
    const fractions = randomFloats(8, seed, 0.5).map((x) => x + 0.5); // kill points: random, replayable
    const cacheDir = join(dir, 'cache');
    const blobs = join(cacheDir, 'models--org--big', 'blobs');
    const partial = join(blobs, `${sha}.incomplete`);
    const final = join(blobs, sha);
    const partialAtKill: number[] = [];
    const restarts: string[] = [];
    let damaged = false;
    let done: string | undefined;
    for (let round = 0; round < 12 && !done; round++) {
      const child: ChildProcess = spawn(process.execPath, [bundle, hub.url, cacheDir], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout!.on('data', (c) => {
        out += c;
      });
      child.stderr!.on('data', (c) => {
        err += c;
      });
      // 'close', not 'exit': the child's stdout is read to its end before its lines are looked at.
      const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
      // Kill when the partial file passes a random fraction of what is left (from round 4 on, let it finish).
      const before = existsSync(partial) ? statSync(partial).size : 0;
      const target =
        round < 4 ? before + (SIZE - before) * (0.1 + 0.8 * fractions[round]!) : Number.POSITIVE_INFINITY;
      let killed = false;
      while (child.exitCode === null && !killed) {
        await new Promise((r) => setTimeout(r, 5));
        const size = existsSync(partial) ? statSync(partial).size : 0;
        if (size >= target) {
          child.kill('SIGKILL');
          killed = true;
          partialAtKill.push(size);
        }
      }
      const code = await exited;
      // A run may notice the damaged partial, say so and start over, and then be killed itself (its restart
      // re-grows the partial past the kill point): what it printed before the kill counts too.
      restarts.push(...out.split('\n').filter((l) => l.startsWith('restart ')));
      if (!killed) {
        expect(code, `seed ${seed}: child failed: ${err}`).toBe(0);
        done = /^done (.*)$/m.exec(out)?.[1];
      }
      // Never a final blob that is not the verified content.
      if (existsSync(final)) {
        expect(createHash('sha256').update(readFileSync(final)).digest('hex'), `seed ${seed}`).toBe(sha);
      }
      if (round >= 1 && killed && !damaged && existsSync(partial)) {
        damaged = true;
        // Damage the partial between runs (a bad sector, a stray write): the next run must notice.
        const fd = openSync(partial, 'r+');
        writeSync(fd, Buffer.from([0xff, 0x00, 0xff]), 0, 3, 100);
        closeSync(fd);
      }
    }
    expect(done, `seed ${seed}`).toBeDefined();
    expect(Buffer.from(readFileSync(done!)).equals(data), `seed ${seed}`).toBe(true);
    expect(existsSync(partial)).toBe(false);
    // Kills landed mid-transfer (polling may lag into the last bytes: a kill before the rename counts too).
    expect(
      partialAtKill.filter((n) => n > 0 && n < SIZE).length,
      `seed ${seed}: ${partialAtKill}`,
    ).toBeGreaterThanOrEqual(2);
    expect(damaged, `seed ${seed}`).toBe(true);
    expect(
      restarts.some((l) => /did not verify/.test(l)),
      `seed ${seed}: ${restarts}`,
    ).toBe(true);
    // Resumed runs asked for the rest with a range request.
    const ranged = hub.requests.filter((q) => q.host === 'storage' && q.range);
    expect(ranged.length, `seed ${seed}`).toBeGreaterThan(0);
  }, 60_000);
});
