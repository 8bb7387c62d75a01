import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AudiogenError } from '@audiogen/core';

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
  signatures(): NativeSignature[];
  run(
    signatureIndex: number,
    inputs: ArrayBufferView[],
    outputs?: (ArrayBufferView | undefined)[],
  ): Promise<NativeOutput[]>;
  resizeInput(signatureIndex: number, inputIndex: number, dims: number[]): void;
  cancel(): void;
  dispose(): void;
}
export interface NativeAddon {
  load(spec: {
    path?: string;
    bytes?: Uint8Array;
    toml: string;
    logSeverity?: number;
    /** Retry a failed compile with fd 2 captured (default true). */
    captureStderr?: boolean;
    /** Re-print LiteRT's reported messages on stderr (default true). */
    echoErrors?: boolean;
    /** While the model is created and compiled, lines on fd 2 starting with one of these are not forwarded. */
    dropStderr?: string[];
  }): Promise<NativeModelHandle>;
  abiLayoutBytes: number;
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
      cached = { addon: require(path) as NativeAddon, path };
      return cached;
    } catch (e) {
      errors.push(`${dir}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  throw new AudiogenError(
    'ENGINE_UNAVAILABLE',
    `the LiteRT addon for ${process.platform}-${process.arch} is not available (build it with ` +
      `'npm run build -w @audiogen/runtime-native'); ${errors.join('; ')}`,
    { details: { platform: process.platform, arch: process.arch } },
  );
}
