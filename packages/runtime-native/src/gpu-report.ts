// `audiogen doctor`'s GPU section: the accelerator library found, what LiteRT registered with it, and the
// adapter LiteRT's WebGPU backend picks for a one-op model (LiteRT's C API has no adapter listing) — or why not.
import { AudiogenError, isAudiogenError } from '@audiogen/core';
import { writeTflite } from '@audiogen/core/tflite';
import { findGpuLibrary, GPU_LIBRARY, GPU_PACKAGE, type GpuLibrary, type GpuRefusal } from './gpu';
import { loadAddon } from './native';
import { createNativeRuntime } from './runtime';
import { addGraph } from './test-models';

export interface GpuReport {
  /** A model compiled and ran on LiteRT's GPU accelerator here. */
  available: boolean;
  library?: GpuLibrary;
  /** Places searched when no library was found. */
  searched?: string[];
  /** What LiteRT registered in its GPU environment (name, LiteRtHwAccelerator bits). */
  accelerators?: { name: string; hardware: number }[];
  /** The adapter LiteRT selected, as it logs it (e.g. "llvmpipe (LLVM 15.0.6, 256 bits), …, backend=Vulkan"). */
  adapter?: string;
  /** Why not, when not available. */
  reason?: GpuRefusal;
  message?: string;
}

/** Never throws: a report of what the GPU path finds on this host. */
export async function describeGpu(options: { gpuLibraryDir?: string } = {}): Promise<GpuReport> {
  let addon: ReturnType<typeof loadAddon>;
  try {
    addon = loadAddon();
  } catch (e) {
    return { available: false, reason: 'failed', message: e instanceof Error ? e.message : String(e) };
  }
  const lib = findGpuLibrary(options.gpuLibraryDir, addon.path);
  if (!('found' in lib)) {
    const name = GPU_LIBRARY[process.platform] ?? 'a GPU accelerator';
    return {
      available: false,
      searched: lib.searched,
      reason: 'library-missing',
      message: `${name} is not installed (npm i ${GPU_PACKAGE})`,
    };
  }
  const report: GpuReport = { available: false, library: lib.found };
  try {
    report.accelerators = addon.addon.accelerators(lib.found.dir);
    const rt = createNativeRuntime({ gpuLibraryDir: lib.found.dir, onWarning: () => {} });
    const m = await rt.load(writeTflite(addGraph([1, 4], 'gpu probe')), {
      accelerator: 'gpu',
      label: 'gpu probe',
    });
    try {
      const x = { dtype: 'float32' as const, shape: [1, 4], data: new Float32Array([1, 2, 3, 4]) };
      const y = { dtype: 'float32' as const, shape: [1, 4], data: new Float32Array([1, 1, 1, 1]) };
      const got = Array.from((await m.run({ x, y })).z!.data as Float32Array);
      if (got.join() !== '2,3,4,5')
        throw new AudiogenError('RUNTIME_ERROR', `the GPU computed 1..4 + 1 as ${got.join(', ')}`);
      report.available = true;
      report.adapter = m.placement.adapter;
    } finally {
      m.dispose();
    }
  } catch (e) {
    report.reason = isAudiogenError(e, 'ACCELERATOR_UNAVAILABLE')
      ? ((e.details as { reason?: GpuRefusal }).reason ?? 'failed')
      : 'failed';
    report.message = e instanceof Error ? e.message : String(e);
  }
  return report;
}
