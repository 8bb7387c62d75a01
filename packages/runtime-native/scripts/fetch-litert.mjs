#!/usr/bin/env node
// Puts Google's LiteRT runtime library (libLiteRt.so / .dylib / .dll from the official ai-edge-litert
// wheel on PyPI) into vendor/<platform>-<arch>/, pinned by version and sha256, and checks its format,
// machine and exported C API symbols (ELF .dynsym, Mach-O export trie, PE export table). For win32-x64 it
// also puts the MSVC runtime DLLs that libLiteRt.dll imports beside it (from PyPI's msvc-runtime wheel,
// Microsoft's redistributable files, pinned the same way).
//
//   node scripts/fetch-litert.mjs [--target linux-x64|linux-arm64|darwin-arm64|win32-x64] [--arch x64|arm64]
//
// Sources, in order: an already vendored copy with the pinned hash; $AUDIOGEN_LITERT_LIB (host target
// only); the same wheel already installed in the repo's .venv (host target only); `pip download` of the
// pinned wheel (any target: pip fetches another platform's wheel by tag). Nothing downloaded is
// committed (vendor/ is git-ignored).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { elfDynamicSymbols, MACHO, machO, PE, peImage } from './binfmt.mjs';

// The release is chosen per platform (README "Which LiteRT release, and why"); today every platform takes
// 2.3.0. linux-x64 was on 2.1.6 for a conv-kernel code-layout accident that made 2.2/2.3 6–11 % slower on
// the Zen 3-class machine; by whole clip (issue 14) 2.3.0 takes the same CPU time on Zen 4 (−0.5…−3 %) and
// 0.45–1.3 GB less memory (its XNNPACK shares the decoder's activation memory better), and computes the
// same `auto` clip bit for bit. arm64 keeps the newest release for its KleidiAI/SME2 kernels (Apple M4 has
// SME2); win32-x64's DLL is a different (MSVC) link whose outputs match Python LiteRT bit for bit under Wine.
export const PINS = {
  'linux-x64': {
    version: '2.3.0',
    wheel: 'ai_edge_litert-2.3.0-cp311-cp311-manylinux_2_27_x86_64.whl',
    wheelSha256: '1f15078a6725d2357d9de9221664c29afa0545d807559c5f7199ce5e40b96b23',
    libSha256: 'eec47eb35e2924b3166015887e652a58edc9af823ae38e02bf83bef2548300bb',
    pipPlatform: 'manylinux_2_27_x86_64',
    lib: 'libLiteRt.so',
    format: 'elf',
    machine: 62, // EM_X86_64
  },
  'linux-arm64': {
    version: '2.3.0',
    wheel: 'ai_edge_litert-2.3.0-cp311-cp311-manylinux_2_27_aarch64.whl',
    wheelSha256: '853fc608f96da87bd5f3458465dfb9abbf18d5ae6b94eceacead407146f175ae',
    libSha256: 'b57687dc234d2b8b0598aef5a9c961ed24263df8f8b3f56adbee1cff618e544b',
    pipPlatform: 'manylinux_2_27_aarch64',
    lib: 'libLiteRt.so',
    format: 'elf',
    machine: 183, // EM_AARCH64
  },
  'darwin-arm64': {
    version: '2.3.0',
    wheel: 'ai_edge_litert-2.3.0-cp311-cp311-macosx_12_0_arm64.whl',
    wheelSha256: 'da19cb1ad08d5113600d1038fbe7390e74e38fcb3e92af86d56a60120343e6d2',
    libSha256: 'f3d8b2c3dea5125111de6b005820088629efd13db04b5f157ffd4f2c5dbb318b',
    pipPlatform: 'macosx_12_0_arm64',
    lib: 'libLiteRt.dylib',
    format: 'macho',
    machine: MACHO.CPU_ARM64,
  },
  'win32-x64': {
    version: '2.3.0',
    wheel: 'ai_edge_litert-2.3.0-cp311-cp311-win_amd64.whl',
    wheelSha256: 'ffee5993b859580650e844fce322e93b7abf50dfa36fd0fcbde41e079d1eebe3',
    libSha256: '445f51fed26967fc1112e0de9ddfef7d8497b24322bbfe18b556426a60000891',
    pipPlatform: 'win_amd64',
    lib: 'libLiteRt.dll',
    format: 'pe',
    machine: PE.AMD64,
    // Not exported by this DLL (the .so and .dylib do): the addon looks them up at run time there.
    optionalSymbols: [
      'LiteRtGetNumAccelerators',
      'LiteRtGetAccelerator',
      'LiteRtGetAcceleratorName',
      'LiteRtGetAcceleratorHardwareSupport',
    ],
  },
};

/**
 * The MSVC runtime DLLs libLiteRt.dll imports (its import table: MSVCP140, VCRUNTIME140, VCRUNTIME140_1,
 * VCRUNTIME140_THREADS), shipped app-local beside it as Microsoft's redistribution terms allow: Windows
 * itself does not include them, an app cannot count on a (recent enough) Visual C++ Redistributable
 * being installed, and Node does not carry them. From PyPI's msvc-runtime wheel (Microsoft's
 * redistributable files, 14.51.36231; only its cp312+ wheels carry this version — the files are the same
 * in each; pip picks this one by tag).
 */
export const MSVC_RUNTIME = {
  version: '14.51.36231',
  wheel: 'msvc_runtime-14.51.36231-cp312-cp312-win_amd64.whl',
  wheelSha256: '89f70d1a37bb64164cdb09d02dd82d6b1400e1310be2995b4ed5a9f23efe2222',
  pipPlatform: 'win_amd64',
  pythonVersion: '3.12',
  dir: 'msvc_runtime-14.51.36231.data/data/Scripts',
  files: {
    'msvcp140.dll': '7c26614e1d733892c2deac7e245ce115504b1d80592dd0a01b08e3e5a55f89ca',
    'vcruntime140.dll': 'd1f4225df2cd877dbf130d5668a021dce3f94118455ff5ec952061c30afc9ce7',
    'vcruntime140_1.dll': 'a7146c08f89fe5b04541ab507cdb59ff7b44534d4ba3c668a426c6450a03434e',
    'vcruntime140_threads.dll': '40f39e8cee5f5a531b4010e18b807e8fe265b908dc58f959ecb7ebc6ea6cb11a',
  },
};

/** Every LiteRt* function native/litert_c_api.h declares; all must be exported (defined, global). */
export const REQUIRED_SYMBOLS = [
  'LiteRtCreateEnvironment',
  'LiteRtDestroyEnvironment',
  'LiteRtCreateModelFromFile',
  'LiteRtCreateModelFromBuffer',
  'LiteRtDestroyModel',
  'LiteRtGetNumModelSignatures',
  'LiteRtGetModelSignature',
  'LiteRtGetSignatureKey',
  'LiteRtGetNumSignatureInputs',
  'LiteRtGetSignatureInputName',
  'LiteRtGetSignatureInputTensorByIndex',
  'LiteRtGetNumSignatureOutputs',
  'LiteRtGetSignatureOutputName',
  'LiteRtGetSignatureOutputTensorByIndex',
  'LiteRtGetTensorTypeId',
  'LiteRtGetRankedTensorType',
  'LiteRtCreateOptions',
  'LiteRtDestroyOptions',
  'LiteRtSetOptionsHardwareAccelerators',
  'LiteRtAddOpaqueOptions',
  'LiteRtCreateOpaqueOptions',
  'LiteRtDestroyOpaqueOptions',
  'LiteRtCreateCompiledModel',
  'LiteRtDestroyCompiledModel',
  'LiteRtGetCompiledModelInputBufferRequirements',
  'LiteRtGetCompiledModelOutputBufferRequirements',
  'LiteRtGetCompiledModelOutputTensorLayouts',
  'LiteRtRunCompiledModel',
  'LiteRtCompiledModelResizeInputTensor',
  'LiteRtCompiledModelGetErrorMessages',
  'LiteRtCompiledModelClearErrors',
  'LiteRtCompiledModelReportError',
  'LiteRtSetCompiledModelCancellationFunction',
  'LiteRtGetTensorBufferRequirementsBufferSize',
  'LiteRtCreateTensorBufferFromHostMemory',
  'LiteRtCreateManagedTensorBufferFromRequirements',
  'LiteRtGetTensorBufferSize',
  'LiteRtLockTensorBuffer',
  'LiteRtUnlockTensorBuffer',
  'LiteRtDestroyTensorBuffer',
  // GPU (issue 16): accelerator listing, full-acceleration check.
  'LiteRtGetNumAccelerators',
  'LiteRtGetAccelerator',
  'LiteRtGetAcceleratorName',
  'LiteRtGetAcceleratorHardwareSupport',
  'LiteRtCompiledModelIsFullyAccelerated',
  // Issue 14: the one-pass Snake kernel (native/snake.h), registered as a custom op.
  'LiteRtAddCustomOpKernelOption',
  // Issue 14: op profiles (load option `profile`, NativeModel.profileSummary).
  'LiteRtCompiledModelGetProfiler',
  'LiteRtStartProfiler',
  'LiteRtResetProfiler',
  'LiteRtGetProfileSummary',
];

const here = dirname(fileURLToPath(import.meta.url));
export const PACKAGE_DIR = resolve(here, '..');

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

/** Defined global/weak symbols of an ELF64 little-endian shared object's .dynsym. */
export { elfDynamicSymbols };

/**
 * Puts a copy of `src` at `dest` without ever rewriting `dest` in place: a shared library that running
 * processes have mapped must not be truncated and rewritten under them (that kills them with SIGBUS or
 * SIGSEGV on their next page fault into it, e.g. a `generate` run while `npm run build` runs). The copy
 * goes to a temp file beside `dest` and is renamed over it (a new inode; mappings keep the old one), and
 * nothing is written when `dest` already holds the same bytes. Returns true when `dest` changed.
 */
export function installFileAtomic(src, dest) {
  if (existsSync(dest) && statSync(dest).size === statSync(src).size) {
    if (readFileSync(dest).equals(readFileSync(src))) return false;
  }
  const tmp = `${dest}.tmp-${process.pid}`;
  try {
    copyFileSync(src, tmp);
    renameSync(tmp, dest);
  } finally {
    rmSync(tmp, { force: true });
  }
  return true;
}

/** Exported names and machine of a library in the pin's format (leading `_` of Mach-O names dropped). */
export function librarySymbols(buf, format) {
  if (format === 'elf') return elfDynamicSymbols(buf);
  if (format === 'macho') {
    const m = machO(buf);
    return { machine: m.cputype, names: new Set([...m.exports].map((n) => n.replace(/^_/, ''))) };
  }
  const p = peImage(buf);
  return { machine: p.machine, names: p.exports };
}

export function checkLibrary(file, pin) {
  const buf = readFileSync(file);
  const got = sha256(buf);
  if (got !== pin.libSha256)
    throw new Error(`${file}: sha256 ${got} does not match the pinned ${pin.libSha256}`);
  const { machine, names } = librarySymbols(buf, pin.format);
  if (machine !== pin.machine) throw new Error(`${file}: machine ${machine}, expected ${pin.machine}`);
  const missing = REQUIRED_SYMBOLS.filter((s) => !names.has(s) && !pin.optionalSymbols?.includes(s));
  if (missing.length) throw new Error(`${file}: LiteRT C API symbols not exported: ${missing.join(', ')}`);
  const tflite = [...names].filter((n) => n.startsWith('TfLite')).length;
  const litert = [...names].filter((n) => n.startsWith('LiteRt')).length;
  return { litertSymbols: litert, tfliteSymbols: tflite };
}

export function findPython() {
  const candidates = [];
  let dir = PACKAGE_DIR;
  for (let i = 0; i < 4; i++) {
    candidates.push(join(dir, '.venv', 'bin', 'python'));
    dir = dirname(dir);
  }
  candidates.push('python3', 'python');
  for (const c of candidates) {
    try {
      execFileSync(c, ['-m', 'pip', '--version'], { stdio: 'ignore' });
      return c;
    } catch {}
  }
  return null;
}

function venvLibraries(lib) {
  const out = [];
  let dir = PACKAGE_DIR;
  for (let i = 0; i < 4; i++) {
    const libDir = join(dir, '.venv', 'lib');
    if (existsSync(libDir)) {
      for (const py of readdirSync(libDir)) {
        const f = join(libDir, py, 'site-packages', 'ai_edge_litert', lib);
        if (existsSync(f)) out.push(f);
      }
    }
    dir = dirname(dir);
  }
  return out;
}

/** `pip download`s one pinned wheel into `tmp`, checks its sha256 and extracts `members` to `tmp`. */
function downloadWheel(
  { pkg, version, wheel, wheelSha256, pipPlatform, pythonVersion = '3.11' },
  members,
  tmp,
  log,
) {
  const py = findPython();
  if (!py) throw new Error(`${wheel}: not found locally and no Python with pip to download it`);
  log(`[fetch-litert] pip download ${pkg}==${version} (${pipPlatform})`);
  execFileSync(
    py,
    [
      '-m',
      'pip',
      'download',
      `${pkg}==${version}`,
      '--no-deps',
      '--only-binary=:all:',
      '--platform',
      pipPlatform,
      '--python-version',
      pythonVersion,
      '-d',
      tmp,
      '--quiet',
      '--disable-pip-version-check',
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const file = join(tmp, wheel);
  if (!existsSync(file)) throw new Error(`pip did not produce ${wheel}`);
  const got = sha256(readFileSync(file));
  if (got !== wheelSha256)
    throw new Error(`${wheel}: sha256 ${got} does not match the pinned ${wheelSha256}`);
  execFileSync(py, [
    '-c',
    'import os,sys,zipfile\nz=zipfile.ZipFile(sys.argv[1])\nfor m in sys.argv[3:]: open(os.path.join(sys.argv[2],os.path.basename(m)),"wb").write(z.read(m))',
    file,
    tmp,
    ...members,
  ]);
}

/** The win32-x64 MSVC runtime DLLs in `destDir`, fetched and checked against their pins. */
export function fetchMsvcRuntime(destDir, { log = console.error } = {}) {
  const names = Object.keys(MSVC_RUNTIME.files);
  const ok = (f, name) => existsSync(f) && sha256(readFileSync(f)) === MSVC_RUNTIME.files[name];
  if (names.every((n) => ok(join(destDir, n), n))) return names.map((n) => join(destDir, n));
  mkdirSync(destDir, { recursive: true });
  const tmp = mkdtempSync(join(tmpdir(), 'audiogen-msvc-'));
  try {
    downloadWheel(
      { pkg: 'msvc-runtime', ...MSVC_RUNTIME },
      names.map((n) => `${MSVC_RUNTIME.dir}/${n}`),
      tmp,
      log,
    );
    for (const n of names) {
      if (!ok(join(tmp, n), n)) throw new Error(`${n} from ${MSVC_RUNTIME.wheel} does not match its pin`);
      installFileAtomic(join(tmp, n), join(destDir, n));
    }
    return names.map((n) => join(destDir, n));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The pinned LiteRT library for `target` (default: this host) in vendor/<target>/, fetched if needed. */
export function fetchLiteRt({
  arch = process.arch,
  target = `${process.platform}-${arch}`,
  log = console.error,
} = {}) {
  const pin = PINS[target];
  if (!pin)
    throw new Error(`no pinned LiteRT library for ${target} (supported: ${Object.keys(PINS).join(', ')})`);
  const destDir = join(PACKAGE_DIR, 'vendor', target);
  const dest = join(destDir, pin.lib);
  const ok = (f) => {
    try {
      checkLibrary(f, pin);
      return true;
    } catch {
      return false;
    }
  };
  const done = (source) => ({ path: dest, source, ...checkLibrary(dest, pin) });
  if (existsSync(dest) && ok(dest)) return done('vendored');
  mkdirSync(destDir, { recursive: true });
  const host = target === `${process.platform}-${process.arch}`;
  const local = host ? [process.env.AUDIOGEN_LITERT_LIB, ...venvLibraries(pin.lib)].filter(Boolean) : [];
  for (const f of local) {
    if (existsSync(f) && ok(f)) {
      installFileAtomic(f, dest);
      log(`[fetch-litert] ${target}: copied pinned ${pin.lib} from ${f}`);
      return done(f);
    }
  }
  const tmp = mkdtempSync(join(tmpdir(), 'audiogen-litert-'));
  try {
    downloadWheel({ pkg: 'ai-edge-litert', ...pin }, [`ai_edge_litert/${pin.lib}`], tmp, log);
    checkLibrary(join(tmp, pin.lib), pin);
    installFileAtomic(join(tmp, pin.lib), dest);
    const info = done('pip');
    log(`[fetch-litert] ${target}: extracted ${pin.lib} (${info.litertSymbols} LiteRt* symbols)`);
    return info;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (n) => {
    const i = process.argv.indexOf(n);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const target = arg('--target') ?? `${process.platform}-${arg('--arch') ?? process.arch}`;
  const r = fetchLiteRt({ target });
  if (target === 'win32-x64') r.msvcRuntime = fetchMsvcRuntime(dirname(r.path));
  console.log(JSON.stringify(r));
}
