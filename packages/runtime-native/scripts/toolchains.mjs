#!/usr/bin/env node
// Records which prebuild targets this machine can compile, and with what, in build/toolchains.json: an input
// of this package's turbo `build` task (turbo.json). Without it turbo would replay a build cached before a
// cross toolchain was installed (e.g. `npm run demo` on a fresh machine, then `npm test`, whose setup
// installs the toolchains) and ship without those prebuilds. Turbo hashes inputs before any task runs, so
// this runs ahead of turbo: the root scripts (`npm run build`, `test`, `demo`, `typecheck`, `bench`) call it.
// Every target in PINS is probed through build-addon.mjs's own toolchain choice, so new targets need nothing.
// The compiler overrides it reads ($CXX, $CXX_ARM64, $ZIG) reach the turbo task through passThroughEnv; their
// effect is in the recorded compiler, hence in the key.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { PACKAGE_DIR, PINS } from './fetch-litert.mjs';

const REPO = join(PACKAGE_DIR, '..', '..');
export const TOOLCHAINS_FILE = join(PACKAGE_DIR, 'build', 'toolchains.json');

export function probeToolchains() {
  const found = {};
  for (const target of Object.keys(PINS).sort()) {
    const r = spawnSync(
      process.execPath,
      [join(PACKAGE_DIR, 'scripts', 'build-addon.mjs'), '--target', target, '--print-toolchain'],
      { encoding: 'utf8' },
    );
    const line = r.stdout.trim().split('\n').pop();
    // Not linux (no prebuilds built here) or a failed probe: recorded as such, which is still a key.
    const tc = r.status === 0 && line ? JSON.parse(line) : { unavailable: r.stderr.trim().split('\n')[0] };
    // A compiler inside the checkout (zig in .venv) is named relative to it, so the key is the same in any clone.
    if (tc?.cxx && isAbsolute(tc.cxx) && !relative(REPO, tc.cxx).startsWith('..'))
      tc.cxx = relative(REPO, tc.cxx).split('\\').join('/');
    found[target] = tc;
  }
  return found;
}

const text = `${JSON.stringify({ platform: `${process.platform}-${process.arch}`, targets: probeToolchains() }, null, 2)}\n`;
// Rewritten only when it changes; written beside and renamed, so a concurrent turbo never reads half a file.
if (!existsSync(TOOLCHAINS_FILE) || readFileSync(TOOLCHAINS_FILE, 'utf8') !== text) {
  mkdirSync(join(PACKAGE_DIR, 'build'), { recursive: true });
  const tmp = `${TOOLCHAINS_FILE}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, TOOLCHAINS_FILE);
}
if (process.argv.includes('--print')) process.stdout.write(text);
