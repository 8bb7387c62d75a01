// The fast subset of the adversarial suite (scripts/adversarial.mjs; the whole suite is
// `npm run test:adversarial`): every class of hostile input, through the built packages, in child
// processes. Zero untyped errors, crashes, hangs, huge allocations, lost data and wrongly accepted inputs.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../../../scripts/adversarial.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ag-adv-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// Under qemu-user without a binfmt_misc registration (the arm64 lane) a child node cannot be started.
const canSpawnNode = spawnSync(process.execPath, ['-e', ''], { timeout: 30_000 }).status === 0;

interface Report {
  total: Record<string, number>;
  results: Record<string, { counts: Record<string, number>; notes: string[] }>;
}
function suite(args: string[], env: Record<string, string> = {}): Report {
  const out = join(dir, `${args.join('_').replace(/\W+/g, '')}.json`);
  const r = spawnSync(process.execPath, [script, ...args, '--json', out], {
    encoding: 'utf8',
    timeout: 170_000,
    env: { ...process.env, ...env },
  });
  expect(r.signal, r.stderr.slice(-3000)).toBe(null);
  return JSON.parse(readFileSync(out, 'utf8')) as Report;
}

describe.skipIf(!canSpawnNode)('adversarial suite (fast subset)', () => {
  it('sees every kind of defect (self-test: one case of each)', { timeout: 120_000 }, () => {
    const r = suite(['--selftest', '--only', 'self-test'], { AG_ADV_HANG_MS: '5000', AG_ADV_HUGE_MB: '800' });
    expect(r.total).toMatchObject({
      tried: 8,
      typed: 1,
      untyped: 1,
      crash: 1,
      hang: 1,
      huge: 1,
      dataLost: 1,
      wrong: 1,
    });
  });

  it('every class: no untyped error, crash, hang, huge allocation, lost data or wrongly accepted input', {
    timeout: 180_000,
  }, () => {
    const r = suite(['--fast']);
    const problems = Object.entries(r.results).flatMap(([k, v]) => v.notes.map((n) => `${k}: ${n}`));
    expect(problems).toEqual([]);
    expect(r.total).toMatchObject({ untyped: 0, crash: 0, hang: 0, huge: 0, dataLost: 0, wrong: 0 });
    expect(Object.keys(r.results).length).toBeGreaterThanOrEqual(14);
    expect(r.total.tried).toBeGreaterThan(400);
  });
});
