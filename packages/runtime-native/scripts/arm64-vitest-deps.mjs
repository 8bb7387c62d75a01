#!/usr/bin/env node
// Puts the linux-arm64 native binding(s) vitest needs into <work>/vitest-deps/node_modules and prints
// that folder (for NODE_PATH), so that the repo's own vitest runs on the arm64 node under QEMU without
// touching the repo's node_modules or package-lock.json (npm installs only the host's x64 bindings).
//
//   node scripts/arm64-vitest-deps.mjs <work dir>
//
// vitest 4 runs on vite 8, whose one native dependency loaded at start-up is rolldown's binding;
// rolldown loads it with a CommonJS require('@rolldown/binding-linux-arm64-gnu'), which falls back to
// NODE_PATH. The version and sha512 integrity come from the root package-lock.json (the optional
// dependency entries npm records for every platform), so the binding always matches the installed JS.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
// Add lightningcss-linux-arm64-gnu here if a test ever makes vite load lightningcss (CSS); esbuild
// and rollup are not loaded by vitest 4.
const NEEDED = ['@rolldown/binding-linux-arm64-gnu'];

const work = process.argv[2];
if (!work) {
  console.error('usage: arm64-vitest-deps.mjs <work dir>');
  process.exit(2);
}
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'));
const dest = join(work, 'vitest-deps', 'node_modules');
const npmCli = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
const npm = existsSync(npmCli) ? [process.execPath, npmCli] : ['npm'];

for (const name of NEEDED) {
  const entry = lock.packages?.[`node_modules/${name}`];
  if (!entry?.version || !entry.integrity?.startsWith('sha512-')) {
    throw new Error(`package-lock.json has no entry with a sha512 integrity for ${name}`);
  }
  const dir = join(dest, name);
  const pkgJson = join(dir, 'package.json');
  if (existsSync(pkgJson) && JSON.parse(readFileSync(pkgJson, 'utf8')).version === entry.version) continue;
  const dl = join(work, 'vitest-deps', 'tarballs');
  mkdirSync(dl, { recursive: true });
  const file = execFileSync(
    npm[0],
    [...npm.slice(1), 'pack', `${name}@${entry.version}`, '--silent', '--pack-destination', dl],
    { cwd: dl, stdio: ['ignore', 'pipe', 'inherit'] },
  )
    .toString()
    .trim()
    .split('\n')
    .pop();
  const tgz = join(dl, file);
  const got = `sha512-${createHash('sha512').update(readFileSync(tgz)).digest('base64')}`;
  if (got !== entry.integrity) {
    rmSync(tgz, { force: true });
    throw new Error(`${name}@${entry.version}: integrity ${got} does not match package-lock.json`);
  }
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  execFileSync('tar', ['-xzf', tgz, '-C', tmp, '--strip-components=1']);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dirname(dir), { recursive: true });
  renameSync(tmp, dir);
  console.error(`[arm64-vitest-deps] ${name}@${entry.version} (integrity checked)`);
}
console.log(dest);
