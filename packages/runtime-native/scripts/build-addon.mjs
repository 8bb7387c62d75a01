#!/usr/bin/env node
// Builds the Node-API addon against the pinned libLiteRt.so and lays it out as a prebuild:
//   dist/prebuilds/linux-<arch>/node.napi.node + libLiteRt.so beside it (rpath $ORIGIN).
// node-gyp-build finds it there at run time (src/native.ts), with no LD_LIBRARY_PATH.
//
//   node scripts/build-addon.mjs [--arch x64|arm64] [--out <dir>] [--force] [--if-toolchain]
//
// Compiler: the host's $CXX or g++; for a cross build (--arch arm64 on x64): $CXX_ARM64, else clang++-19
// (with ld.lld-19) when installed, else Debian's aarch64-linux-gnu-g++; the sysroot is
// /usr/aarch64-linux-gnu (apt-get install g++-aarch64-linux-gnu). With --if-toolchain a missing cross
// toolchain prints one line and exits 0, except when $CI is set: there it is an error, so the packed
// package always carries both prebuilds.
// Node headers come from the running node's include/node (node-gyp's --nodedir layout).
//
// The compiled addon is kept in build/addon/linux-<arch>/ with the hash of everything that went into it
// (source, header, library, compiler, flags): an unchanged input is not rebuilt (tsup's clean wipes dist/
// on every build). Files are installed into dist/ by rename, never rewritten in place (running node
// processes have them mapped; see installFileAtomic).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fetchLiteRt, installFileAtomic, PACKAGE_DIR } from './fetch-litert.mjs';

const require = createRequire(import.meta.url);
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const flag = (name) => process.argv.includes(name);
const arch = arg('--arch', process.arch);
const key = `linux-${arch}`;
const outDir = arg('--out', join(PACKAGE_DIR, 'dist', 'prebuilds', key));
const inCI = !!process.env.CI && !/^(0|false|no)$/i.test(process.env.CI);
const SYSROOT = '/usr/aarch64-linux-gnu';

if (process.platform !== 'linux') {
  console.error(
    `[build-addon] ${process.platform}: only linux prebuilds are produced here; see README (build from source)`,
  );
  process.exit(0);
}

const runs = (cmd) => spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;

/** The compiler and its target flags, or a reason why this machine cannot build `arch`. */
function toolchain() {
  if (arch === process.arch) return { cxx: process.env.CXX || 'g++', flags: [] };
  if (arch !== 'arm64' || process.arch !== 'x64')
    return { missing: `no cross build ${process.arch} → ${arch}` };
  if (!existsSync(join(SYSROOT, 'lib'))) return { missing: `no aarch64 sysroot in ${SYSROOT}` };
  const cxx =
    process.env.CXX_ARM64 ||
    (runs('clang++-19') && runs('ld.lld-19') ? 'clang++-19' : null) ||
    (runs('aarch64-linux-gnu-g++') ? 'aarch64-linux-gnu-g++' : null);
  if (!cxx) return { missing: 'no aarch64 cross compiler (clang++-19 + lld-19, or aarch64-linux-gnu-g++)' };
  const flags = /clang/.test(cxx)
    ? ['--target=aarch64-linux-gnu', '-fuse-ld=lld', `--sysroot=${SYSROOT}`]
    : [];
  return { cxx, flags };
}

const tc = toolchain();
if (tc.missing) {
  const msg = `[build-addon] ${key} skipped: ${tc.missing} (apt-get install -y g++-aarch64-linux-gnu)`;
  if (flag('--if-toolchain') && !inCI) {
    console.error(msg);
    process.exit(0);
  }
  console.error(msg.replace('skipped', 'FAILED'));
  process.exit(1);
}

const lib = fetchLiteRt({ arch });
const nodeInclude = arg('--node-include', join(dirname(process.execPath), '..', 'include', 'node'));
if (!existsSync(join(nodeInclude, 'node_api.h'))) {
  throw new Error(`Node-API headers not found in ${nodeInclude} (pass --node-include <dir>)`);
}
const napiInclude = dirname(require.resolve('node-addon-api/package.json'));
const src = join(PACKAGE_DIR, 'native', 'addon.cc');
const header = join(PACKAGE_DIR, 'native', 'litert_c_api.h');
const cacheDir = join(PACKAGE_DIR, 'build', 'addon', key);
const cached = join(cacheDir, 'node.napi.node');
const stamp = `${cached}.inputs-sha256`;
mkdirSync(outDir, { recursive: true });
mkdirSync(cacheDir, { recursive: true });
// Never rewrite the library or the addon in place: running node processes have them mapped (see
// installFileAtomic). Unchanged bytes are left alone; new ones replace the file by rename.
installFileAtomic(lib.path, join(outDir, 'libLiteRt.so'));

const args = [
  ...tc.flags,
  '-std=c++17',
  '-O2',
  '-fPIC',
  '-shared',
  '-fvisibility=hidden',
  '-Wall',
  '-DNAPI_VERSION=8',
  '-DNAPI_CPP_EXCEPTIONS',
  '-DNODE_ADDON_API_DISABLE_DEPRECATED',
  `-I${nodeInclude}`,
  `-I${napiInclude}`,
  `-I${join(PACKAGE_DIR, 'native')}`,
  src,
  '-o',
  'OUT',
  `-L${dirname(lib.path)}`,
  '-l:libLiteRt.so',
  '-Wl,-rpath,$ORIGIN',
  '-Wl,--as-needed',
  '-pthread',
];
const h = createHash('sha256').update(JSON.stringify([tc.cxx, args]));
for (const f of [src, header, lib.path, join(nodeInclude, 'node_api.h')]) h.update(readFileSync(f));
const inputs = h.digest('hex');
const out = join(outDir, 'node.napi.node');

const upToDate =
  !flag('--force') && existsSync(cached) && existsSync(stamp) && readFileSync(stamp, 'utf8') === inputs;
if (!upToDate) {
  const tmpOut = `${cached}.tmp-${process.pid}`;
  console.error(`[build-addon] ${tc.cxx} … -o ${out}`);
  try {
    execFileSync(
      tc.cxx,
      args.map((a) => (a === 'OUT' ? tmpOut : a)),
      { stdio: 'inherit' },
    );
    renameSync(tmpOut, cached);
    writeFileSync(stamp, inputs);
  } finally {
    rmSync(tmpOut, { force: true });
  }
}
installFileAtomic(cached, out);
console.error(
  upToDate ? `[build-addon] up to date: ${out}` : `[build-addon] built ${out} (LiteRT from ${lib.source})`,
);
