#!/usr/bin/env node
// Builds the Node-API addon against the pinned LiteRT library and lays it out as a prebuild:
//   dist/prebuilds/<platform>-<arch>/node.napi.node + the LiteRT library beside it
//   (linux: libLiteRt.so, RUNPATH $ORIGIN; darwin: libLiteRt.dylib, @rpath + LC_RPATH @loader_path;
//   win32: libLiteRt.dll and the MSVC runtime DLLs it imports, found beside the addon by LoadLibraryEx).
// node-gyp-build finds it there at run time (src/native.ts), with no LD_LIBRARY_PATH / PATH changes.
//
//   node scripts/build-addon.mjs [--target linux-x64|linux-arm64|darwin-arm64|win32-x64 | --arch x64|arm64]
//                                [--out <dir>] [--force] [--if-toolchain]
//
// Linux compilers: the host's $CXX or g++; for linux-arm64 on x64: $CXX_ARM64, else clang++-19 (with
// ld.lld-19), else Debian's aarch64-linux-gnu-g++ with the sysroot /usr/aarch64-linux-gnu.
// darwin-arm64 and win32-x64 are cross-built on Linux with zig (PyPI `ziglang`, linked as .venv/bin/zig by
// scripts/setup-dev.sh; or $ZIG, a zig executable): clang with macOS/MinGW headers and its own
// libc++, linked statically. Node-API headers and Node's import library come from npm `node-api-headers`.
//   - darwin-arm64: a Mach-O dylib (zig cannot write MH_BUNDLE; Node dlopen()s either, as napi-rs addons
//     show), -undefined dynamic_lookup (Node-API resolves from the node process), @rpath/libLiteRt.dylib
//     with LC_RPATH @loader_path, ad-hoc signed by zig's linker (arm64 macOS refuses unsigned code).
//   - win32-x64: a DLL (x86_64-windows-gnu, UCRT) importing Node-API from NODE.EXE (import library made
//     from node-api-headers' .def) and LiteRT from libLiteRt.dll (import library made from the DLL's
//     export table); -mno-ms-bitfields keeps LiteRtLayout as libLiteRt.dll has it (native/litert_c_api.h).
// With --if-toolchain a missing toolchain prints one line and exits 0, except when $CI is set: there it
// is an error, so the packed package always carries every prebuild.
//
// The compiled addon is kept in build/addon/<target>/ with the hash of everything that went into it
// (source, header, library, compiler, flags): an unchanged input is not rebuilt (tsup's clean wipes dist/
// on every build). Files are installed into dist/ by rename, never rewritten in place (running node
// processes have them mapped; see installFileAtomic).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { peImage } from './binfmt.mjs';
import {
  fetchLiteRt,
  fetchMsvcRuntime,
  findPython,
  installFileAtomic,
  PACKAGE_DIR,
  PINS,
} from './fetch-litert.mjs';

const require = createRequire(import.meta.url);
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const flag = (name) => process.argv.includes(name);
const target = arg('--target', `linux-${arg('--arch', process.arch)}`);
const [platform, arch] = target.split('-');
const outDir = arg('--out', join(PACKAGE_DIR, 'dist', 'prebuilds', target));
const inCI = !!process.env.CI && !/^(0|false|no)$/i.test(process.env.CI);
const SYSROOT = '/usr/aarch64-linux-gnu';
const ZIG_TRIPLES = { 'darwin-arm64': 'aarch64-macos.12.0', 'win32-x64': 'x86_64-windows-gnu' };

if (!PINS[target]) {
  console.error(`[build-addon] unknown target ${target} (known: ${Object.keys(PINS).join(', ')})`);
  process.exit(1);
}
if (process.platform !== 'linux') {
  console.error(
    `[build-addon] ${process.platform}: prebuilds are built on Linux (zig cross-builds darwin and win32); see README`,
  );
  process.exit(0);
}

const runs = (cmd, args = ['--version']) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;

/**
 * zig as [command, ...prefix args]: $ZIG; else .venv/bin/zig (scripts/setup-dev.sh links it to a per-machine
 * install of PyPI `ziglang`, so zig's build cache is shared by every clone); else `python -m ziglang`.
 */
function findZig() {
  if (process.env.ZIG) return runs(process.env.ZIG, ['version']) ? [process.env.ZIG] : null;
  let dir = PACKAGE_DIR;
  for (let i = 0; i < 4; i++, dir = dirname(dir)) {
    const zig = join(dir, '.venv', 'bin', 'zig');
    if (existsSync(zig) && runs(zig, ['version'])) return [zig];
  }
  const py = findPython();
  return py && runs(py, ['-m', 'ziglang', 'version']) ? [py, '-m', 'ziglang'] : null;
}

/** The compiler and its target flags, or a reason why this machine cannot build `target`. */
function toolchain() {
  if (ZIG_TRIPLES[target]) {
    const zig = findZig();
    if (!zig) return { missing: 'no zig (pip install ziglang into the .venv: bash scripts/setup-dev.sh)' };
    return { cxx: zig[0], pre: [...zig.slice(1), 'c++'], flags: ['-target', ZIG_TRIPLES[target]], zig };
  }
  if (arch === process.arch) return { cxx: process.env.CXX || 'g++', pre: [], flags: [] };
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
  return { cxx, pre: [], flags };
}

const tc = toolchain();
// --print-toolchain: what this machine would build `target` with, as JSON (null: it cannot). toolchains.mjs
// records it for every target in a build input, so turbo's cache key changes when a toolchain comes or goes.
if (flag('--print-toolchain')) {
  const version = tc.missing
    ? null
    : spawnSync(tc.cxx, [...tc.pre, '--version'], { encoding: 'utf8' }).stdout?.split('\n')[0];
  console.log(JSON.stringify(tc.missing ? null : { cxx: tc.cxx, flags: tc.flags, version }));
  process.exit(0);
}
if (tc.missing) {
  const hint = ZIG_TRIPLES[target] ? '' : ' (apt-get install -y g++-aarch64-linux-gnu)';
  const msg = `[build-addon] ${target} skipped: ${tc.missing}${hint}`;
  if (flag('--if-toolchain') && !inCI) {
    console.error(msg);
    process.exit(0);
  }
  console.error(msg.replace('skipped', 'FAILED'));
  process.exit(1);
}

const lib = fetchLiteRt({ target });
const napiInclude = dirname(require.resolve('node-addon-api/package.json'));
// Linux builds use the running node's headers (node-gyp's --nodedir layout); cross builds the
// Node-API headers package (a devDependency: the same C API; NAPI_VERSION below pins what is used).
const headersPkg = ZIG_TRIPLES[target] ? dirname(require.resolve('node-api-headers/package.json')) : null;
const nodeInclude = headersPkg
  ? join(headersPkg, 'include')
  : arg('--node-include', join(dirname(process.execPath), '..', 'include', 'node'));
if (!existsSync(join(nodeInclude, 'node_api.h'))) {
  throw new Error(`Node-API headers not found in ${nodeInclude} (pass --node-include <dir>)`);
}
const src = join(PACKAGE_DIR, 'native', 'addon.cc');
const header = join(PACKAGE_DIR, 'native', 'litert_c_api.h');
const cacheDir = join(PACKAGE_DIR, 'build', 'addon', target);
const cached = join(cacheDir, 'node.napi.node');
const stamp = `${cached}.inputs-sha256`;
mkdirSync(outDir, { recursive: true });
mkdirSync(cacheDir, { recursive: true });
// Never rewrite the library or the addon in place: running node processes have them mapped (see
// installFileAtomic). Unchanged bytes are left alone; new ones replace the file by rename.
installFileAtomic(lib.path, join(outDir, basename(lib.path)));
const extra = target === 'win32-x64' ? fetchMsvcRuntime(dirname(lib.path)) : [];
for (const f of extra) installFileAtomic(f, join(outDir, basename(f)));

/** Windows import libraries: Node's (node-api-headers' .def) and LiteRT's (from the DLL's exports). */
function importLibraries() {
  const litertDef = join(cacheDir, 'libLiteRt.def');
  const names = [...peImage(readFileSync(lib.path)).exports].sort();
  writeFileSync(litertDef, `LIBRARY libLiteRt.dll\nEXPORTS\n${names.join('\n')}\n`);
  const libs = [];
  for (const [def, out] of [
    [join(headersPkg, 'def', 'node_api.def'), join(cacheDir, 'node.lib')],
    [litertDef, join(cacheDir, 'libLiteRt.lib')],
  ]) {
    execFileSync(tc.zig[0], [...tc.zig.slice(1), 'dlltool', '-d', def, '-l', out, '-m', 'i386:x86-64']);
    libs.push(out);
  }
  return libs;
}

const common = [
  '-std=c++17',
  '-O2',
  '-Wall',
  '-DNAPI_VERSION=8',
  '-DNAPI_CPP_EXCEPTIONS',
  '-DNODE_ADDON_API_DISABLE_DEPRECATED',
  // A worker thread terminated during a run: the finished run's callback finds no JS to call into;
  // node-addon-api then swallows the error instead of a C++ throw that aborts the whole process.
  '-DNODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS',
  `-I${nodeInclude}`,
  `-I${napiInclude}`,
  `-I${join(PACKAGE_DIR, 'native')}`,
  src,
  '-o',
  'OUT',
];
const perTarget = {
  linux: () => [
    '-fPIC',
    '-shared',
    '-fvisibility=hidden',
    `-L${dirname(lib.path)}`,
    '-l:libLiteRt.so',
    '-Wl,-rpath,$ORIGIN',
    '-Wl,--as-needed',
    '-pthread',
  ],
  darwin: () => [
    '-fPIC',
    '-shared',
    '-fvisibility=hidden',
    `-L${dirname(lib.path)}`,
    '-lLiteRt',
    '-Wl,-undefined,dynamic_lookup',
    '-Wl,-rpath,@loader_path',
    '-Wl,-install_name,@rpath/node.napi.node',
    '-s', // no debug map: it would carry the build machine's paths
  ],
  win32: () => ['-shared', '-mno-ms-bitfields', ...importLibraries()],
};
const args = [...tc.flags, ...common, ...perTarget[platform]()];
const h = createHash('sha256').update(
  JSON.stringify([tc.cxx, tc.pre, args.map((a) => a.replace(PACKAGE_DIR, ''))]),
);
for (const f of [
  src,
  header,
  join(PACKAGE_DIR, 'native', 'snake.h'),
  lib.path,
  join(nodeInclude, 'node_api.h'),
])
  h.update(readFileSync(f));
const inputs = h.digest('hex');
const out = join(outDir, 'node.napi.node');

const upToDate =
  !flag('--force') && existsSync(cached) && existsSync(stamp) && readFileSync(stamp, 'utf8') === inputs;
if (!upToDate) {
  // Linked in a folder of its own under its final name: zig writes side files (.lib, .pdb) beside the
  // output, and the Mach-O code signature's identifier is the output's file name.
  const tmpDir = join(cacheDir, `tmp-${process.pid}`);
  const tmpOut = join(tmpDir, 'node.napi.node');
  mkdirSync(tmpDir, { recursive: true });
  console.error(`[build-addon] ${[tc.cxx, ...tc.pre].join(' ')} ${tc.flags.join(' ')} … -o ${out}`);
  try {
    execFileSync(tc.cxx, [...tc.pre, ...args.map((a) => (a === 'OUT' ? tmpOut : a))], { stdio: 'inherit' });
    renameSync(tmpOut, cached);
    writeFileSync(stamp, inputs);
  } finally {
    rmSync(tmpDir, { recursive: true, force: true });
  }
}
installFileAtomic(cached, out);
console.error(
  upToDate ? `[build-addon] up to date: ${out}` : `[build-addon] built ${out} (LiteRT from ${lib.source})`,
);
