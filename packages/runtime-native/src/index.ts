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
