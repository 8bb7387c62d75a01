import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AudiogenError } from '@audiogen/core';
import { MAX_RANK } from '@audiogen/core/tflite';

/** What the addon (native/addon.cc) exposes. */
export interface NativeTensorMeta {
  name: string;
  elementType: number;
  shape: number[];
}
export interface NativeSignature {
  key: string;
  inputs: NativeTensorMeta[];
  outputs: NativeTensorMeta[];
}
export interface NativeOutput {
  shape: number[];
  elementType: number;
  /** null when the output was written into the caller's array (run's `outputs`). */
  data: ArrayBuffer | null;
}
export interface NativeModelHandle {
  /** What LiteRT's error reporter collected while compiling and preparing (lines; usually empty). */
  loadMessages?: string;
  /** LiteRtCompiledModelIsFullyAccelerated after the compile. */
  fullyAccelerated?: boolean;
  /** Bytes of the memfd freed after compile (packed weights). */
  releasedBytes?: number;
  /** GPU loads: everything printed on fd 2 while the model was created and compiled. */
  loadLog?: string;
  signatures(): NativeSignature[];
  run(
    signatureIndex: number,
    inputs: ArrayBufferView[],
    outputs?: (ArrayBufferView | undefined)[],
  ): Promise<NativeOutput[]>;
  resizeInput(signatureIndex: number, inputIndex: number, dims: number[]): void;
  cancel(): void;
  /** Loaded with `profile`: LiteRT's per-node table of every run so far. */
  profileSummary(): string;
  dispose(): void;
}
export interface NativeAddon {
  load(spec: {
    path?: string;
    /** The memfd behind `path` (from copyToMemfd): the loaded model owns and closes it. */
    memfd?: number;
    /** [offset, size, …] of the memfd to free after compile where XNNPACK packed those weights. */
    release?: number[];
    bytes?: Uint8Array;
    toml: string;
    logSeverity?: number;
    /** Retry a failed compile with fd 2 captured (default true). */
    captureStderr?: boolean;
    /** Re-print LiteRT's reported messages on stderr (default true). */
    echoErrors?: boolean;
    /** While the model is created and compiled, lines on fd 2 starting with one of these are not forwarded. */
    dropStderr?: string[];
    /** LiteRtHwAccelerator bits (default CPU); with the GPU bit the model lives in the GPU environment. */
    accelerators?: number;
    /** Directory LiteRT loads its GPU accelerator library from (GPU loads). */
    gpuDir?: string;
    /** GPU options, TOML (GPU loads). */
    gpuToml?: string;
    /** Register the AudiogenSnake kernels (native/snake.h) for this model, on this many threads. */
    snakeThreads?: number;
    /** Record every node of every run (LiteRT's profiler): `profileSummary`. */
    profile?: boolean;
  }): Promise<NativeModelHandle>;
  /** The accelerators LiteRT registered in the GPU environment (made with the library from gpuDir). */
  accelerators(gpuDir: string): { name: string; hardware: number }[];
  /**
   * x86-64 only: CPUID leaf/subleaf as [eax, ebx, ecx, edx]; leaf 0xFFFFFFFF gives XCR0 as [lo, 0, 0, hi]
   * (zeros without OSXSAVE). Decoded by host.ts.
   */
  cpuid?(leaf: number, subleaf: number): [number, number, number, number];
  abiLayoutBytes: number;
  /** A 64-byte-aligned native block (freed when collected) that a model file is read into for load. */
  allocModelBuffer(bytes: number): ArrayBuffer;
  /** Linux: copies a regular file into a private memfd (null where memfds are unavailable). */
  copyToMemfd(path: string): { fd: number; path: string; size: number } | null;
  closeFd(fd: number): void;
  /** Test hook: reads the byte at `offset` of fd through a shared mapping; returns fd's allocated bytes. */
  _testTouchFd(fd: number, offset: number): number;
  /** AUDIOGEN_LITERT_MAX_RANK: dimensions a LiteRT layout holds (must equal core's MAX_RANK). */
  maxRank: number;
  /** Test hook: writes `bytes` bytes of numbered lines to fd 2 under a capture; returns the kept text. */
  _testStderrCapture(bytes: number): { started: boolean; text: string };
}

/** Properties of the Errors the addon rejects/throws with (mapped to AudiogenError in runtime.ts). */
export interface NativeErrorProps {
  /** LiteRtStatus of the failed call. */
  litertStatus?: number;
  /** Which C API call / step failed. */
  op?: string;
  /** 'DISPOSED' / 'ABORTED' for those cases. */
  code?: string;
  /** What the compiled model's buffer error reporter collected (lines separated by newlines). */
  litertMessages?: string;
  /** stderr captured while a failed compile was retried (present only when that capture ran). */
  litertStderr?: string;
  /** GPU loads: everything printed on fd 2 during the failed load. */
  loadLog?: string;
}

/** The package root: src/ and dist/ both sit one level below it. */
export function packageRoot(): string {
  const here = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url));
  return resolve(here, '..');
}

let cached: { addon: NativeAddon; path: string } | undefined;

/** Loads the prebuilt addon (dist/prebuilds/<platform>-<arch>/node.napi.node, libLiteRt.so beside it). */
export function loadAddon(): { addon: NativeAddon; path: string } {
  if (cached) return cached;
  const root = packageRoot();
  const require = createRequire(join(root, 'package.json'));
  const nodeGypBuild = require('node-gyp-build') as { path(dir: string): string };
  const errors: string[] = [];
  for (const dir of [join(root, 'dist'), root]) {
    if (!existsSync(dir)) continue;
    try {
      const path = nodeGypBuild.path(dir);
      const addon = require(path) as NativeAddon;
      // The verifier refuses ranks above MAX_RANK because the addon's layouts hold no more: one fact.
      if (addon.maxRank !== MAX_RANK) {
        errors.push(`${path}: the addon holds ${addon.maxRank} dimensions, the verifier allows ${MAX_RANK}`);
        continue;
      }
      cached = { addon, path };
      return cached;
    } catch (e) {
      errors.push(`${dir}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  throw new AudiogenError('ENGINE_UNAVAILABLE', noPrebuildMessage(process.platform, process.arch, errors), {
    details: { platform: process.platform, arch: process.arch, supported: PREBUILT_PLATFORMS, errors },
  });
}

/** The platforms the published package carries a prebuild for (dist/prebuilds/<platform>-<arch>/). */
export const PREBUILT_PLATFORMS = ['linux-x64', 'linux-arm64', 'darwin-arm64', 'win32-x64'] as const;

/**
 * What an app developer reads when the addon cannot be loaded: which platforms have a prebuild and what
 * to do — words for a user of the npm package (no monorepo commands).
 */
export function noPrebuildMessage(platform: string, arch: string, errors: string[]): string {
  const key = `${platform}-${arch}`;
  const list = PREBUILT_PLATFORMS.join(', ');
  const why = errors.length ? ` (${errors.join('; ')})` : '';
  if ((PREBUILT_PLATFORMS as readonly string[]).includes(key)) {
    return (
      `the LiteRT addon for ${key} failed to load${why}. @audiogen/runtime-native ships it in ` +
      `dist/prebuilds/${key}/ with the LiteRT library beside it: reinstall the package (npm ci, or delete ` +
      `node_modules/@audiogen/runtime-native and npm install) and make sure your bundler or packager copies ` +
      `that folder unchanged${platform === 'linux' ? '; Linux needs glibc 2.27 or newer' : ''}` +
      `${platform === 'darwin' ? '; macOS needs 12 or newer' : ''}.`
    );
  }
  return (
    `@audiogen/runtime-native has no prebuilt LiteRT addon for ${key}; prebuilds exist for ${list}. ` +
    `Run on one of those (on Apple silicon use an arm64 Node, not one under Rosetta), or use another ` +
    `runtime: Google's ai-edge-litert wheels, where this package's LiteRT library comes from, exist for ` +
    `those platforms only${why}.`
  );
}
