import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { main } from './index';

const pkgDir = fileURLToPath(new URL('..', import.meta.url));

describe('the audiogen bin', () => {
  it('says "build first" when dist/ is missing (a clone before `npm run build`), not a module stack', () => {
    const dir = mkdtempSync(join(tmpdir(), 'audiogen-bin-'));
    try {
      mkdirSync(join(dir, 'bin'));
      copyFileSync(join(pkgDir, 'bin', 'audiogen.js'), join(dir, 'bin', 'audiogen.js'));
      copyFileSync(join(pkgDir, 'package.json'), join(dir, 'package.json'));
      const r = spawnSync(process.execPath, [join(dir, 'bin', 'audiogen.js'), 'generate', 'x'], {
        encoding: 'utf8',
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('npm run build');
      expect(r.stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|at .*\(node:/);
      expect(r.stdout).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a reader that closes the pipe early ends the CLI quietly (no EPIPE stack, exit 0)', () => {
    // `true` exits at once, so every line `samplers` prints meets a closed pipe.
    const bin = join(pkgDir, 'bin', 'audiogen.js');
    const r = spawnSync(
      'bash',
      ['-c', `"$0" "$1" samplers | true; exit \${PIPESTATUS[0]}`, process.execPath, bin],
      {
        encoding: 'utf8',
      },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('--version prints the version in package.json (the one changesets bumps)', async () => {
    const version = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      expect(await main(['node', 'audiogen', '--version'])).toBe(0);
      expect(out.mock.calls.map((c) => String(c[0])).join('')).toBe(`${version}\n`);
    } finally {
      out.mockRestore();
    }
  });
});
