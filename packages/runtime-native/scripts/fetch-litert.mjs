#!/usr/bin/env node
import { execFileSync } from 'node:child_process';
// Puts Google's LiteRT runtime library (libLiteRt.so from the official ai-edge-litert wheel on PyPI)
// into vendor/<platform>-<arch>/, pinned by version and sha256, and checks its exported C API symbols.
//
//   node scripts/fetch-litert.mjs [--arch x64|arm64]
//
// Sources, in order: an already vendored copy with the pinned hash; $AUDIOGEN_LITERT_LIB; the same
// wheel already installed in the repo's .venv (host arch only); `pip download` of the pinned wheel.
// Nothing downloaded is committed (vendor/ is git-ignored).
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

// The release is chosen per platform by measurement (README "Which LiteRT release, and why"): on x64 the
// 2.2/2.3 libraries pick XNNPACK f32 conv kernels that run 6–11 % slower on AMD Zen than 2.1.6's and
// than Python's own build; arm64 keeps the newest release for its KleidiAI/SME2 kernels.
export const PINS = {
  'linux-x64': {
    version: '2.1.6',
    wheel: 'ai_edge_litert-2.1.6-cp311-cp311-manylinux_2_27_x86_64.whl',
    wheelSha256: 'af4f2ba681fa2c688746cbd7ddd71a2bbbdd9e6a51aa609d382bfad77d1c695e',
    libSha256: 'd46eca60880d6e28c1992d136459f06ab642e30eb423bdc14d56e928f398ce19',
    pipPlatform: 'manylinux_2_27_x86_64',
    elfMachine: 62, // EM_X86_64
  },
  'linux-arm64': {
    version: '2.3.0',
    wheel: 'ai_edge_litert-2.3.0-cp311-cp311-manylinux_2_27_aarch64.whl',
    wheelSha256: '853fc608f96da87bd5f3458465dfb9abbf18d5ae6b94eceacead407146f175ae',
    libSha256: 'b57687dc234d2b8b0598aef5a9c961ed24263df8f8b3f56adbee1cff618e544b',
    pipPlatform: 'manylinux_2_27_aarch64',
    elfMachine: 183, // EM_AARCH64
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
];

const here = dirname(fileURLToPath(import.meta.url));
export const PACKAGE_DIR = resolve(here, '..');

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

/** Defined global/weak symbols of an ELF64 little-endian shared object's .dynsym. */
export function elfDynamicSymbols(buf) {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2 || buf[5] !== 1) {
    throw new Error('not an ELF64 little-endian file');
  }
  const machine = buf.readUInt16LE(18);
  const shoff = Number(buf.readBigUInt64LE(40));
  const shentsize = buf.readUInt16LE(58);
  const shnum = buf.readUInt16LE(60);
  const sections = [];
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize;
    sections.push({
      type: buf.readUInt32LE(o + 4),
      offset: Number(buf.readBigUInt64LE(o + 24)),
      size: Number(buf.readBigUInt64LE(o + 32)),
      link: buf.readUInt32LE(o + 40),
      entsize: Number(buf.readBigUInt64LE(o + 56)),
    });
  }
  const dynsym = sections.find((s) => s.type === 11); // SHT_DYNSYM
  if (!dynsym) throw new Error('no .dynsym section');
  const strtab = sections[dynsym.link];
  const names = new Set();
  for (let o = dynsym.offset; o + 24 <= dynsym.offset + dynsym.size; o += dynsym.entsize || 24) {
    const nameOff = buf.readUInt32LE(o);
    const info = buf[o + 4];
    const shndx = buf.readUInt16LE(o + 6);
    const bind = info >> 4;
    if (shndx === 0 || (bind !== 1 && bind !== 2)) continue; // undefined, or local
    let end = strtab.offset + nameOff;
    while (buf[end] !== 0) end++;
    names.add(buf.toString('latin1', strtab.offset + nameOff, end));
  }
  return { machine, names };
}

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

export function checkLibrary(file, pin) {
  const buf = readFileSync(file);
  const got = sha256(buf);
  if (got !== pin.libSha256)
    throw new Error(`${file}: sha256 ${got} does not match the pinned ${pin.libSha256}`);
  const { machine, names } = elfDynamicSymbols(buf);
  if (machine !== pin.elfMachine)
    throw new Error(`${file}: ELF machine ${machine}, expected ${pin.elfMachine}`);
  const missing = REQUIRED_SYMBOLS.filter((s) => !names.has(s));
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

function venvLibraries() {
  const out = [];
  let dir = PACKAGE_DIR;
  for (let i = 0; i < 4; i++) {
    const lib = join(dir, '.venv', 'lib');
    if (existsSync(lib)) {
      for (const py of readdirSync(lib)) {
        const f = join(lib, py, 'site-packages', 'ai_edge_litert', 'libLiteRt.so');
        if (existsSync(f)) out.push(f);
      }
    }
    dir = dirname(dir);
  }
  return out;
}

export function fetchLiteRt({ arch = process.arch, log = console.error } = {}) {
  const key = `linux-${arch}`;
  const pin = PINS[key];
  if (!pin)
    throw new Error(`no pinned LiteRT library for ${key} (supported: ${Object.keys(PINS).join(', ')})`);
  const destDir = join(PACKAGE_DIR, 'vendor', key);
  const dest = join(destDir, 'libLiteRt.so');
  const ok = (f) => {
    try {
      checkLibrary(f, pin);
      return true;
    } catch {
      return false;
    }
  };
  if (existsSync(dest) && ok(dest)) return { path: dest, source: 'vendored', ...checkLibrary(dest, pin) };
  mkdirSync(destDir, { recursive: true });
  const local = [process.env.AUDIOGEN_LITERT_LIB, ...(arch === process.arch ? venvLibraries() : [])].filter(
    Boolean,
  );
  for (const f of local) {
    if (existsSync(f) && ok(f)) {
      installFileAtomic(f, dest);
      log(`[fetch-litert] ${key}: copied pinned libLiteRt.so from ${f}`);
      return { path: dest, source: f, ...checkLibrary(dest, pin) };
    }
  }
  const py = findPython();
  if (!py) throw new Error('LiteRT library not found and no Python with pip to download the pinned wheel');
  const tmp = mkdtempSync(join(tmpdir(), 'audiogen-litert-'));
  try {
    log(`[fetch-litert] ${key}: pip download ai-edge-litert==${pin.version} (${pin.pipPlatform})`);
    execFileSync(
      py,
      [
        '-m',
        'pip',
        'download',
        `ai-edge-litert==${pin.version}`,
        '--no-deps',
        '--only-binary=:all:',
        '--platform',
        pin.pipPlatform,
        '--python-version',
        '3.11',
        '-d',
        tmp,
        '--quiet',
      ],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    const wheel = join(tmp, pin.wheel);
    if (!existsSync(wheel)) throw new Error(`pip did not produce ${pin.wheel}`);
    const got = sha256(readFileSync(wheel));
    if (got !== pin.wheelSha256)
      throw new Error(`wheel sha256 ${got} does not match the pinned ${pin.wheelSha256}`);
    execFileSync(py, [
      '-c',
      'import sys,zipfile;z=zipfile.ZipFile(sys.argv[1]);open(sys.argv[2],"wb").write(z.read("ai_edge_litert/libLiteRt.so"))',
      wheel,
      join(tmp, 'libLiteRt.so'),
    ]);
    checkLibrary(join(tmp, 'libLiteRt.so'), pin);
    installFileAtomic(join(tmp, 'libLiteRt.so'), dest);
    const info = checkLibrary(dest, pin);
    log(`[fetch-litert] ${key}: extracted libLiteRt.so (${info.litertSymbols} LiteRt* symbols)`);
    return { path: dest, source: 'pip', ...info };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--arch');
  const arch = i > 0 ? process.argv[i + 1] : process.arch;
  const r = fetchLiteRt({ arch });
  console.log(JSON.stringify(r));
}
