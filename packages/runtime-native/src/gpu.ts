// GPU policy: which accelerator a load asks LiteRT for, where LiteRT's GPU accelerator library is, and what
// LiteRT's own output says when the GPU is refused. The addon only passes these through (native/addon.cc).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { AudiogenError } from '@audiogen/core';
import { packageRoot } from './native';

export type Accelerator = 'cpu' | 'gpu' | 'auto';
export type GpuPrecision = 'fp16' | 'fp32';
export const ACCELERATORS: readonly Accelerator[] = ['cpu', 'gpu', 'auto'];

/** LiteRtHwAccelerator bits (litert/c/litert_common.h). */
export const HW_CPU = 1;
export const HW_GPU = 2;

/** The accelerator library LiteRT looks for per platform (litert/runtime/accelerators/gpu_registry.cc). */
export const GPU_LIBRARY: Record<string, string> = {
  linux: 'libLiteRtWebGpuAccelerator.so',
  win32: 'libLiteRtWebGpuAccelerator.dll',
  darwin: 'libLiteRtMetalAccelerator.dylib',
};

/** The optional package that carries the accelerator libraries (the CPU install stays as small as before). */
export const GPU_PACKAGE = '@audiogen/runtime-native-gpu';

/** Why the GPU was not used: `library-missing`, `no-adapter` and `unsupported-ops` are the ones to act on. */
export type GpuRefusal = 'library-missing' | 'no-adapter' | 'unsupported-ops' | 'failed';

export interface GpuLibrary {
  /** Directory handed to LiteRT (its runtime-library-directory option); LiteRT dlopens the library from it. */
  dir: string;
  file: string;
  source: 'option' | 'env' | 'beside-addon' | 'package';
}

export function checkAccelerator(v: unknown): Accelerator {
  if (v === undefined) return 'cpu';
  if (typeof v !== 'string' || !(ACCELERATORS as readonly string[]).includes(v)) {
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `accelerator must be one of ${ACCELERATORS.join(', ')}, got ${String(v)}`,
    );
  }
  return v as Accelerator;
}

export function checkGpuPrecision(v: unknown): GpuPrecision {
  if (v === undefined) return 'fp16';
  if (v !== 'fp16' && v !== 'fp32') {
    throw new AudiogenError('INVALID_ARGUMENT', `gpuPrecision must be 'fp16' or 'fp32', got ${String(v)}`);
  }
  return v;
}

/** GPU options as the TOML payload LiteRT's GPU accelerator parses (precision: 1 = fp16, 2 = fp32). */
export function gpuToml(precision: GpuPrecision): string {
  return `precision = ${precision === 'fp32' ? 2 : 1}\n`;
}

/**
 * Where the accelerator library is, in this order: the runtime option `gpuLibraryDir`, `$AUDIOGEN_LITERT_GPU_DIR`,
 * beside the addon prebuild, the optional `@audiogen/runtime-native-gpu` package. Returns the places searched
 * when none has it.
 */
export function findGpuLibrary(
  option?: string,
  addonPath?: string,
): { found: GpuLibrary } | { searched: string[] } {
  const name = GPU_LIBRARY[process.platform];
  if (!name) return { searched: [] };
  const key = `${process.platform}-${process.arch}`;
  const candidates: [string | undefined, GpuLibrary['source']][] = [
    [option, 'option'],
    [process.env.AUDIOGEN_LITERT_GPU_DIR || undefined, 'env'],
    [addonPath ? dirname(addonPath) : undefined, 'beside-addon'],
  ];
  try {
    const req = createRequire(join(packageRoot(), 'package.json'));
    candidates.push([join(dirname(req.resolve(`${GPU_PACKAGE}/package.json`)), 'dist', key), 'package']);
  } catch {}
  const searched: string[] = [];
  for (const [dir, source] of candidates) {
    if (!dir) continue;
    const file = join(dir, name);
    searched.push(file);
    if (existsSync(file)) return { found: { dir, file, source } };
    // An explicit choice that does not hold the library is an error, not a reason to look elsewhere.
    if (source === 'option') return { searched };
  }
  return { searched };
}

/** The adapter line LiteRT's WebGPU backend logs when it picks a device (e.g. "llvmpipe (LLVM 15…), …"). */
export function adapterFromLog(log: string): string | undefined {
  const m = /Selected adapter: (.*)$/m.exec(log);
  return m?.[1]?.trim();
}

/**
 * The ops LiteRT's GPU delegate names after "Following operations are not supported by GPU delegate:"
 * (one `OP: reason` line each), as { op, reason }.
 */
export function unsupportedOpsFromLog(log: string): { op: string; reason: string }[] {
  const lines = log.split(/\r?\n/);
  const start = lines.findIndex((l) => l.includes('operations are not supported by GPU delegate'));
  if (start < 0) return [];
  const out: { op: string; reason: string }[] = [];
  for (const raw of lines.slice(start + 1)) {
    const l = raw.replace(/^ERROR: /, '').trim();
    const m = /^([A-Z][A-Z0-9_]*): (.*)$/.exec(l);
    if (!m) break;
    out.push({ op: m[1]!, reason: m[2]!.trim() });
  }
  return out;
}

/** What LiteRT's log says about why a GPU compile failed. */
export function classifyGpuFailure(log: string): {
  reason: GpuRefusal;
  ops: { op: string; reason: string }[];
  why: string;
} {
  const ops = unsupportedOpsFromLog(log);
  if (ops.length > 0) {
    return {
      reason: 'unsupported-ops',
      ops,
      why: `the GPU does not support ${ops.map((o) => `${o.op} (${o.reason})`).join(', ')}`,
    };
  }
  if (/No adapters found|Failed to create WebGPU environment|Found no drivers/i.test(log)) {
    const vk = /vkCreateInstance[^\n]*/.exec(log)?.[0];
    return {
      reason: 'no-adapter',
      ops,
      why: `LiteRT's WebGPU backend found no GPU adapter${vk ? ` (${vk.trim()})` : ''}`,
    };
  }
  if (/GPU accelerator could not be loaded/i.test(log)) {
    return { reason: 'library-missing', ops, why: 'LiteRT could not load its GPU accelerator library' };
  }
  return { reason: 'failed', ops, why: 'LiteRT could not compile the model for the GPU' };
}

/**
 * Lines LiteRT's GPU path prints that are log noise below the 'warning'/'error' levels: glog lines
 * (`I1206 …`, `W…`, `E…`: what they say lands in the load's report or error instead), Dawn's `Warning: `
 * lines and their traces.
 */
export function gpuDroppedLogPrefixes(severity: number): string[] {
  if (severity < 2) return [];
  return [
    'I0',
    'I1',
    'W0',
    'W1',
    'E0',
    'E1',
    'Warning: ',
    '    at ',
    '=== Source Location Trace',
    'third_party/',
    'WARNING: Logging before InitGoogle',
  ];
}
