#!/usr/bin/env node
// Puts LiteRT's GPU accelerator library (from the same official ai-edge-litert wheel on PyPI as the runtime
// library @audiogen/runtime-native pins) into dist/<platform>-<arch>/, pinned by sha256. The runtime finds it
// there when this package is installed (src/gpu.ts in runtime-native) and hands the directory to LiteRT,
// which dlopens the library itself.
//
//   node scripts/fetch-gpu.mjs [--target linux-x64] [--all]
//
// Sources, in order: a copy already in vendor/ with the pinned hash; $AUDIOGEN_LITERT_GPU_LIB; the wheel
// installed in the repo's .venv (when it is the pinned release); `pip download` of the pinned wheel (a
// development-time step: the published package carries the libraries, users never need Python).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
// A development-time script of this monorepo (the published package carries dist/ only).
import { findPython, installFileAtomic, PINS } from '../../runtime-native/scripts/fetch-litert.mjs';

// The accelerator must come from the same release as the runtime library it is loaded into (the runtime
// pins in runtime-native/scripts/fetch-litert.mjs; fetchGpu refuses a pin whose version differs from it).
export const GPU_PINS = {
  'linux-x64': {
    version: '2.3.0',
    wheel: 'ai_edge_litert-2.3.0-cp311-cp311-manylinux_2_27_x86_64.whl',
    wheelSha256: '1f15078a6725d2357d9de9221664c29afa0545d807559c5f7199ce5e40b96b23',
    pipPlatform: 'manylinux_2_27_x86_64',
    lib: 'libLiteRtWebGpuAccelerator.so',
    libSha256: 'b67f193ae6eb8ad3a15349f54aba696c97d6f981c92bc2eb1096cbe9e2835b25',
    backend: 'WebGPU (Vulkan)',
  },
  // Packaged, never run here (no arm64 Vulkan device: lavapipe under qemu-user was not tried).
  'linux-arm64': {
    version: '2.3.0',
    wheel: 'ai_edge_litert-2.3.0-cp311-cp311-manylinux_2_27_aarch64.whl',
    wheelSha256: '853fc608f96da87bd5f3458465dfb9abbf18d5ae6b94eceacead407146f175ae',
    pipPlatform: 'manylinux_2_27_aarch64',
    lib: 'libLiteRtWebGpuAccelerator.so',
    libSha256: '5f271fa4a36f9dd8d1f8514971b2e80f46bd92b1066509cdd9c0716723d6091a',
    backend: 'WebGPU (Vulkan)',
  },
  // Packaged, checked as files only (src/libraries.test.ts): no macOS or Windows GPU here.
  'darwin-arm64': {
    version: '2.3.0',
    wheel: 'ai_edge_litert-2.3.0-cp311-cp311-macosx_12_0_arm64.whl',
    wheelSha256: 'da19cb1ad08d5113600d1038fbe7390e74e38fcb3e92af86d56a60120343e6d2',
    pipPlatform: 'macosx_12_0_arm64',
    lib: 'libLiteRtMetalAccelerator.dylib',
    libSha256: '5531feca4ff0e2c67628e09d635a6f79da74534e88b7a3d262efa5dcda59e95d',
    backend: 'Metal',
  },
  'win32-x64': {
    version: '2.3.0',
    wheel: 'ai_edge_litert-2.3.0-cp311-cp311-win_amd64.whl',
    wheelSha256: 'ffee5993b859580650e844fce322e93b7abf50dfa36fd0fcbde41e079d1eebe3',
    pipPlatform: 'win_amd64',
    lib: 'libLiteRtWebGpuAccelerator.dll',
    libSha256: '1cf8b23cd30d04f0c7f087243322a4550a695c4803be9b5ef5027d7de3e26d8d',
    backend: 'WebGPU (D3D12/Vulkan)',
  },
};

const here = dirname(fileURLToPath(import.meta.url));
export const PACKAGE_DIR = resolve(here, '..');
const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');
const hostKey = `${process.platform}-${process.arch}`;

function matches(file, pin) {
  return existsSync(file) && sha256(readFileSync(file)) === pin.libSha256;
}

function installIn(src, dest) {
  mkdirSync(dirname(dest), { recursive: true });
  installFileAtomic(src, dest);
}

function venvCandidates(pin) {
  const out = [];
  let dir = PACKAGE_DIR;
  for (let i = 0; i < 4; i++, dir = dirname(dir)) {
    const lib = join(dir, '.venv', 'lib');
    if (!existsSync(lib)) continue;
    for (const py of readdirSync(lib)) out.push(join(lib, py, 'site-packages', 'ai_edge_litert', pin.lib));
  }
  return out;
}

export function fetchGpu(key = hostKey, log = console.error) {
  const pin = GPU_PINS[key];
  if (!pin)
    throw new Error(`no pinned GPU accelerator for ${key} (pinned: ${Object.keys(GPU_PINS).join(', ')})`);
  if (PINS[key] && PINS[key].version !== pin.version)
    throw new Error(
      `${key}: GPU accelerator pinned to LiteRT ${pin.version}, the runtime to ${PINS[key].version}`,
    );
  const vendored = join(PACKAGE_DIR, 'vendor', key, pin.lib);
  const dest = join(PACKAGE_DIR, 'dist', key, pin.lib);
  if (!matches(vendored, pin)) {
    const local = [process.env.AUDIOGEN_LITERT_GPU_LIB, ...(key === hostKey ? venvCandidates(pin) : [])];
    const found = local.find((f) => f && matches(f, pin));
    if (found) {
      installIn(found, vendored);
      log(`[fetch-gpu] ${key}: copied ${pin.lib} from ${found}`);
    } else {
      const py = findPython();
      if (!py) throw new Error(`${pin.lib} not found and no Python with pip to download the pinned wheel`);
      const tmp = mkdtempSync(join(tmpdir(), 'audiogen-gpu-'));
      try {
        log(`[fetch-gpu] ${key}: pip download ai-edge-litert==${pin.version} (${pin.pipPlatform})`);
        execFileSync(
          py,
          [
            '-m',
            'pip',
            'download',
            `ai-edge-litert==${pin.version}`,
            '--no-deps',
            '--only-binary=:all:',
          ].concat(['--platform', pin.pipPlatform, '--python-version', '3.11', '-d', tmp, '--quiet']),
          { stdio: ['ignore', 'inherit', 'inherit'] },
        );
        const wheel = join(tmp, pin.wheel);
        if (!existsSync(wheel) || sha256(readFileSync(wheel)) !== pin.wheelSha256)
          throw new Error(`pip did not produce ${pin.wheel} with the pinned sha256`);
        const out = join(tmp, pin.lib);
        execFileSync(py, [
          '-c',
          'import sys,zipfile;open(sys.argv[2],"wb").write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[3]))',
          wheel,
          out,
          `ai_edge_litert/${pin.lib}`,
        ]);
        if (!matches(out, pin)) throw new Error(`${pin.lib} in ${pin.wheel} does not have the pinned sha256`);
        installIn(out, vendored);
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    }
  }
  if (!matches(dest, pin)) installIn(vendored, dest);
  return { key, path: dest, version: pin.version };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--target');
  const keys = process.argv.includes('--all')
    ? Object.keys(GPU_PINS)
    : [i > 0 ? process.argv[i + 1] : hostKey];
  for (const key of keys) {
    if (!GPU_PINS[key]) {
      console.error(`[fetch-gpu] ${key}: no GPU accelerator pinned; the package carries none for it`);
      continue;
    }
    console.log(JSON.stringify(fetchGpu(key)));
  }
}
