#!/usr/bin/env node
// Builds the Node-API addon against the pinned libLiteRt.so and lays it out as a prebuild:
//   dist/prebuilds/linux-<arch>/node.napi.node + libLiteRt.so beside it (rpath $ORIGIN).
// node-gyp-build finds it there at run time (src/native.ts), with no LD_LIBRARY_PATH.
//
//   node scripts/build-addon.mjs [--arch x64|arm64] [--out <dir>]
// Compiler: $CXX or g++ (host); for --arch arm64: $CXX or clang++-19 --target=aarch64-linux-gnu.
// Node headers come from the running node's include/node (node-gyp's --nodedir layout).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fetchLiteRt, installFileAtomic, PACKAGE_DIR } from './fetch-litert.mjs';

const require = createRequire(import.meta.url);
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const arch = arg('--arch', process.arch);
const outDir = arg('--out', join(PACKAGE_DIR, 'dist', 'prebuilds', `linux-${arch}`));

if (process.platform !== 'linux') {
  console.error(
    `[build-addon] ${process.platform}: only linux prebuilds are produced here; see README (build from source)`,
  );
  process.exit(0);
}

const lib = fetchLiteRt({ arch });
const nodeInclude = arg('--node-include', join(dirname(process.execPath), '..', 'include', 'node'));
if (!existsSync(join(nodeInclude, 'node_api.h'))) {
  throw new Error(`Node-API headers not found in ${nodeInclude} (pass --node-include <dir>)`);
}
const napiInclude = dirname(require.resolve('node-addon-api/package.json'));
const src = join(PACKAGE_DIR, 'native', 'addon.cc');
const header = join(PACKAGE_DIR, 'native', 'litert_c_api.h');
const out = join(outDir, 'node.napi.node');
mkdirSync(outDir, { recursive: true });
// Never rewrite the library or the addon in place: running node processes have them mapped (see
// installFileAtomic). Unchanged bytes are left alone; new ones replace the file by rename.
installFileAtomic(lib.path, join(outDir, 'libLiteRt.so'));

const newer = (a, b) => existsSync(a) && statSync(a).mtimeMs > statSync(b).mtimeMs;
if (newer(out, src) && newer(out, header) && !process.argv.includes('--force')) {
  console.error(`[build-addon] up to date: ${out}`);
  process.exit(0);
}

const tmpOut = `${out}.tmp-${process.pid}`;
const cross = arch !== process.arch;
const cxx = process.env.CXX || (cross ? 'clang++-19' : 'g++');
const targetFlags =
  cross && arch === 'arm64' && /clang/.test(cxx) // aarch64-linux-gnu-g++ needs no extra flags
    ? ['--target=aarch64-linux-gnu', '-fuse-ld=lld', '--sysroot=/usr/aarch64-linux-gnu']
    : [];
const args = [
  ...targetFlags,
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
  tmpOut,
  `-L${outDir}`,
  '-l:libLiteRt.so',
  '-Wl,-rpath,$ORIGIN',
  '-Wl,--as-needed',
  '-pthread',
];
console.error(`[build-addon] ${cxx} … -o ${out}`);
try {
  execFileSync(cxx, args, { stdio: 'inherit' });
  renameSync(tmpOut, out);
} finally {
  rmSync(tmpOut, { force: true });
}
console.error(`[build-addon] built ${out} (LiteRT from ${lib.source})`);
