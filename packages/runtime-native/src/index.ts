export {
  type Accelerator,
  findGpuLibrary,
  GPU_LIBRARY,
  GPU_PACKAGE,
  type GpuLibrary,
  type GpuPrecision,
  type GpuRefusal,
} from './gpu';
export { describeGpu, type GpuReport } from './gpu-report';
export {
  describeHost,
  type HostReport,
  hostCpu,
  LITERT_LIB_SHA256,
  LITERT_LIBRARY_NAMES,
  LITERT_VERSION,
  LITERT_VERSIONS,
} from './host';
export { loadAddon, noPrebuildMessage, PREBUILT_PLATFORMS } from './native';
export {
  type AcceleratorWarning,
  cpuOptionsFor,
  createNativeRuntime,
  DEFAULT_XNNPACK_FLAGS,
  defaultThreads,
  type EffectiveCpuOptions,
  type LiteRtErrorDetails,
  type LogLevel,
  litertMessageLines,
  type NativeModel,
  type NativeRuntime,
  type NativeRuntimeOptions,
  type Placement,
  XnnpackFlags,
} from './runtime';
export {
  findScaleProblems,
  type ScaleProblem,
  scanFromGraph,
  scanTflite,
  type TfliteScan,
  verifyModelBytes,
  verifyModelFile,
} from './verify';
