// The Windows lane (scripts/test-win32.mjs) as a test: the win32-x64 prebuild run by the official
// Windows node under Wine — outputs vs Python LiteRT, errors, LiteRT's text, abort, and the tiny
// end-to-end generation matching this host's. Skipped with a printed reason where Wine or the prebuild
// is missing; in CI ($CI set) that is a failure.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const inCI = !!process.env.CI && !/^(0|false|no)$/i.test(process.env.CI);
const hasWine = [process.env.WINE, '/usr/lib/wine/wine64', 'wine64']
  .filter(Boolean)
  .some((w) => spawnSync(w!, ['--version'], { stdio: 'ignore' }).status === 0);

function missing(): string | null {
  if (process.platform !== 'linux' || process.arch !== 'x64') return 'the lane runs on linux-x64 hosts';
  if (!hasWine) return 'no wine64 (apt-get install wine64; scripts/setup-dev.sh does)';
  if (!existsSync(join(pkg, 'dist', 'prebuilds', 'win32-x64', 'node.napi.node')))
    return 'no win32-x64 prebuild in dist/ (zig missing: scripts/setup-dev.sh installs it)';
  return null;
}
const reason = missing();
if (reason && !inCI) console.log(`win32 lane skipped: ${reason}`);

describe.skipIf(reason !== null && !inCI)('win32 lane (Wine, official Windows node)', () => {
  it('runs the runtime checks and the tiny generation on Windows', { timeout: 8 * 60_000 }, () => {
    expect(reason, `win32 lane cannot run in CI: ${reason}`).toBeNull();
    const r = spawnSync(process.execPath, [join(pkg, 'scripts', 'test-win32.mjs')], {
      cwd: pkg,
      encoding: 'utf8',
      timeout: 7 * 60_000,
    });
    const out = `${r.stdout}${r.stderr}`;
    console.log(
      out
        .split('\n')
        .filter((l) => /^(\[win32\]|LANE|E2E|WIN32)/.test(l))
        .join('\n'),
    );
    expect(r.status, out.slice(-6000)).toBe(0);
    const field = (tag: string, k: string) => new RegExp(`^${tag} .*\\b${k}=(\\S+)`, 'm').exec(out)?.[1];
    // libLiteRt.dll and the four MSVC runtime DLLs loaded as the shipped files (Wine's builtins refused).
    expect(field('LANE dlls', 'status')).toBe('pass');
    expect(field('LANE checks', 'status')).toBe('pass');
    expect(Number(field('LANE checks', 'passed'))).toBeGreaterThanOrEqual(19);
    expect(field('LANE checks', 'failed')).toBe('0');
    expect(field('E2E', 'status')).toBe('pass');
    expect(field('E2E', 'same_seed_identical')).toBe('true');
    expect(Number(field('E2E', 'max_diff_vs_linux-x64'))).toBeLessThan(1e-4);
    expect(out).toContain('WIN32 LANE OK');
  });
});
