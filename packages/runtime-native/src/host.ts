import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import type { HostCpu } from '@audiogen/core';
import { loadAddon } from './native';
import { DEFAULT_XNNPACK_FLAGS, defaultThreads } from './runtime';

/** The ai-edge-litert release whose LiteRT library is pinned, per platform (see scripts/fetch-litert.mjs). */
export const LITERT_VERSIONS: Record<string, string> = {
  'linux-x64': '2.3.0',
  'linux-arm64': '2.3.0',
  'darwin-arm64': '2.3.0',
  'win32-x64': '2.3.0',
};
/** The LiteRT library's file name beside the addon, per OS. */
export const LITERT_LIBRARY_NAMES: Record<string, string> = {
  linux: 'libLiteRt.so',
  darwin: 'libLiteRt.dylib',
  win32: 'libLiteRt.dll',
};
/** The pinned release for this platform ('unpinned' where no prebuild exists). */
export const LITERT_VERSION: string = LITERT_VERSIONS[`${process.platform}-${process.arch}`] ?? 'unpinned';
/** sha256 of the library in those wheels (scripts/fetch-litert.mjs checks the same values; a test too). */
export const LITERT_LIB_SHA256: Record<string, string> = {
  'linux-x64': 'eec47eb35e2924b3166015887e652a58edc9af823ae38e02bf83bef2548300bb',
  'linux-arm64': 'b57687dc234d2b8b0598aef5a9c961ed24263df8f8b3f56adbee1cff618e544b',
  'darwin-arm64': 'f3d8b2c3dea5125111de6b005820088629efd13db04b5f157ffd4f2c5dbb318b',
  'win32-x64': '445f51fed26967fc1112e0de9ddfef7d8497b24322bbfe18b556426a60000891',
};

const X86_FEATURES = [
  'sse4_2',
  'avx',
  'fma',
  'avx2',
  'f16c',
  'avx512f',
  'avx512bw',
  'avx512vl',
  'avx512vnni',
  'avx512_vnni',
  'avx512_bf16',
  'avx512_fp16',
  'avx_vnni',
  'amx_bf16',
  'amx_int8',
];
const ARM_FEATURES = [
  'asimd',
  'asimdhp',
  'fphp',
  'asimddp',
  'i8mm',
  'bf16',
  'sve',
  'sve2',
  'sme',
  'sme2',
  'smei8i32',
  'smef16f32',
];

export interface HostReport {
  platform: string;
  arch: string;
  cpuModel: string;
  /** x86 `vendor_id` (GenuineIntel, AuthenticAMD…) or arm64 `CPU implementer`; '' when unknown. */
  cpuVendor: string;
  logicalCores: number;
  totalMemoryBytes: number;
  /** Normalised CPU features relevant to LiteRT/XNNPACK kernel selection (true = present). */
  cpuFeatures: Record<string, boolean>;
  /** Where they were read: CPUID on x86 (what XNNPACK reads), else /proc/cpuinfo or sysctl. */
  cpuFeatureSource: FeatureSource;
  engine: {
    name: 'LiteRT';
    version: string;
    api: 'CompiledModel C API';
    available: boolean;
    addonPath?: string;
    libraryPath?: string;
    librarySha256?: string;
    libraryPinned?: boolean;
    error?: string;
  };
  defaults: { threads: number; xnnpackFlagsWhenSet: number; cpuAccelerator: 'XNNPACK' };
  /** Which kernel families XNNPACK/KleidiAI are expected to choose here, and why. */
  kernels: string[];
}

function readCpuInfo(): { model: string; vendor: string; flags: Set<string> } {
  let text = '';
  try {
    text = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {}
  const flags = new Set<string>();
  let model = cpus()[0]?.model ?? 'unknown';
  let vendor = '';
  for (const line of text.split('\n')) {
    const v = /^(vendor_id|CPU implementer)\s*:\s*(.*)$/.exec(line);
    if (v && !vendor) vendor = v[2]!.trim();
    const m = /^(flags|Features)\s*:\s*(.*)$/.exec(line);
    if (m) for (const f of m[2]!.trim().split(/\s+/)) flags.add(f);
    const mm = /^(model name|CPU part)\s*:\s*(.*)$/.exec(line);
    if (mm && model === 'unknown') model = mm[2]!.trim();
  }
  return { model, vendor, flags };
}

export function kernelNotes(arch: string, f: Record<string, boolean>, vendor = ''): string[] {
  if (arch === 'x64') {
    const out: string[] = [];
    if (f.avx512f) out.push('f32 GEMM/IGEMM: XNNPACK AVX-512F microkernels');
    else if (f.avx2 && f.fma && /AuthenticAMD|HygonGenuine/.test(vendor))
      // Seen with perf on an AMD EPYC (family 25); Python's ai-edge-litert build picks the generic 5x16
      // kernels on the same CPU, which is the conv-stack gap described in the README.
      out.push(
        "f32 GEMM/IGEMM: XNNPACK FMA3; on AMD the pinned libLiteRt.so can choose its Zen-tuned 4x16s4/1x16s4 kernels (seen with perf on family 25) where Python's build uses the generic 5x16 ones",
      );
    else if (f.avx2 && f.fma) out.push('f32 GEMM/IGEMM: XNNPACK FMA3/AVX2 microkernels');
    else out.push('f32 GEMM/IGEMM: XNNPACK SSE/AVX microkernels');
    if (f.avx512vnni) out.push('dynamic-range int8 (qd8-f32-qc8w): AVX512-VNNI microkernels');
    else if (f.avx_vnni) out.push('dynamic-range int8 (qd8-f32-qc8w): AVX-VNNI microkernels');
    else if (f.avx2) out.push('dynamic-range int8 (qd8-f32-qc8w): AVX2 microkernels');
    if (f.avx512_fp16 || f.avx512_bf16) out.push('FORCE_FP16: native fp16/bf16 arithmetic may be used');
    else out.push('FORCE_FP16: fp16 storage with F16C conversion (no native fp16 math on this CPU)');
    out.push('KleidiAI: not used on x86 (Arm-only library)');
    return out;
  }
  if (arch === 'arm64') {
    if (f.sme2)
      return [
        'dynamic-range int8 and f32 GEMM: KleidiAI SME2 kernels (qp8 *_sme2_mopa / *_sme2_dot; pf32 *_sme2_mopa, M=1 *_1x16vl_sme2_mla)',
      ];
    if (f.sme) return ['dynamic-range int8 and f32 GEMM: KleidiAI SME kernels (*_sme_mopa / *_sme_dot)'];
    if (f.i8mm)
      return [
        'dynamic-range int8: KleidiAI NEON i8mm kernels (qai8dxp4x8_qsi8cxp4x8_16x4_neon_i8mm)',
        'f32 GEMM: XNNPACK NEON FMA',
      ];
    if (f.asimddp)
      return [
        'dynamic-range int8: KleidiAI NEON dotprod kernels (qai8dxp*_neon_dotprod)',
        'f32 GEMM: XNNPACK NEON FMA',
      ];
    return ['XNNPACK NEON kernels (no dotprod: KleidiAI qp8 paths unavailable)'];
  }
  return ['XNNPACK generic kernels'];
}

/** macOS arm64 has no /proc/cpuinfo: `sysctl hw.optional.arm` names the same features FEAT_*. */
function darwinArmFlags(): Set<string> {
  const flags = new Set<string>();
  let text = '';
  try {
    text = execFileSync('sysctl', ['hw.optional.arm'], { encoding: 'utf8', timeout: 2000 });
  } catch {
    return flags;
  }
  const map: Record<string, string[]> = {
    FEAT_DotProd: ['asimddp'],
    FEAT_I8MM: ['i8mm'],
    FEAT_FP16: ['asimdhp', 'fphp'],
    FEAT_BF16: ['bf16'],
    FEAT_SME: ['sme'],
    FEAT_SME2: ['sme2'],
  };
  for (const line of text.split('\n')) {
    const m = /^hw\.optional\.arm\.(FEAT_\w+):\s*1\s*$/.exec(line);
    for (const f of (m && map[m[1]!]) || []) flags.add(f);
  }
  if (flags.size) flags.add('asimd');
  return flags;
}

/** One CPUID leaf as [eax, ebx, ecx, edx]; leaf 0xFFFFFFFF is XCR0 as [lo, 0, 0, hi] (the addon's convention). */
export type CpuidReader = (leaf: number, subleaf: number) => readonly [number, number, number, number];

const bit = (v: number, n: number) => ((v >>> n) & 1) === 1;

type SavedState = 'sse' | 'ymm' | 'zmm' | 'tiles';
/** [Linux name, leaf, subleaf, register (0 eax, 1 ebx, 2 ecx, 3 edx), bit, register state the OS must save]. */
const X86_CPUID_BITS: readonly [string, number, number, number, number, SavedState][] = [
  ['sse4_2', 1, 0, 2, 20, 'sse'],
  ['avx', 1, 0, 2, 28, 'ymm'],
  ['fma', 1, 0, 2, 12, 'ymm'],
  ['f16c', 1, 0, 2, 29, 'ymm'],
  ['avx2', 7, 0, 1, 5, 'ymm'],
  ['avx512f', 7, 0, 1, 16, 'zmm'],
  ['avx512dq', 7, 0, 1, 17, 'zmm'],
  ['avx512bw', 7, 0, 1, 30, 'zmm'],
  ['avx512vl', 7, 0, 1, 31, 'zmm'],
  ['avx512_vnni', 7, 0, 2, 11, 'zmm'],
  ['avx512_fp16', 7, 0, 3, 23, 'zmm'],
  ['avx512_bf16', 7, 1, 0, 5, 'zmm'],
  ['avx_vnni', 7, 1, 0, 4, 'ymm'],
  ['amx_bf16', 7, 0, 3, 22, 'tiles'],
  ['amx_tile', 7, 0, 3, 24, 'tiles'],
  ['amx_int8', 7, 0, 3, 25, 'tiles'],
];

/**
 * The x86 features XNNPACK keys on, decoded from CPUID as cpuinfo does (instruction bit and the OS saving
 * its registers, per XCR0), in their Linux /proc/cpuinfo names; plus vendor and brand string.
 */
export function decodeX86Cpuid(cpuid: CpuidReader): { vendor: string; model: string; flags: Set<string> } {
  const flags = new Set<string>();
  const [maxLeaf, vb, vc, vd] = cpuid(0, 0);
  const text = (regs: readonly number[]) =>
    Buffer.from(new Uint32Array(regs).buffer).toString('latin1').replace(/\0+$/, '');
  const vendor = text([vb, vd, vc]);
  const maxExt = cpuid(0x80000000, 0)[0] >>> 0;
  let model = '';
  if (maxExt >= 0x80000004)
    model = [0x80000002, 0x80000003, 0x80000004]
      .map((l) => text(cpuid(l, 0)))
      .join('')
      .replace(/\0/g, '')
      .trim();
  if (maxLeaf < 1) return { vendor, model, flags };
  const xcr0 = bit(cpuid(1, 0)[2], 27) ? cpuid(0xffffffff, 0)[0] >>> 0 : 0; // OSXSAVE: XCR0 readable
  const saved: Record<SavedState, boolean> = {
    sse: true,
    ymm: (xcr0 & 0x6) === 0x6, // SSE + AVX state
    zmm: (xcr0 & 0xe6) === 0xe6, // + opmask, ZMM_Hi256, Hi16_ZMM
    tiles: (xcr0 & 0x60000) === 0x60000, // XTILECFG + XTILEDATA
  };
  for (const [name, leaf, subleaf, reg, n, state] of X86_CPUID_BITS) {
    if (leaf <= maxLeaf && saved[state] && bit(cpuid(leaf, subleaf)[reg] ?? 0, n)) flags.add(name);
  }
  return { vendor, model, flags };
}

/** CPUID through the addon (x86-64); undefined where the addon or the instruction is unavailable. */
function addonCpuid(): CpuidReader | undefined {
  if (process.arch !== 'x64') return undefined;
  try {
    const { addon } = loadAddon();
    const cpuid = addon.cpuid?.bind(addon);
    return cpuid ? (leaf, subleaf) => cpuid(leaf, subleaf) : undefined;
  } catch {
    return undefined;
  }
}

let cachedCpu: (HostCpu & { vendor: string; featureSource: FeatureSource }) | undefined;

/** Where hostCpu() read the features: what XNNPACK reads (CPUID) where it can. */
export type FeatureSource = 'cpuid' | '/proc/cpuinfo' | 'sysctl' | 'none';

/**
 * This machine's CPU as precision policy needs it (cached; never throws). Features are normalised to
 * the Linux names (`avx512vnni` for both spellings; `dotprod` = `asimddp` on arm64); on a platform where
 * they cannot be read the map is empty, which policy treats as "unknown".
 */
export function hostCpu(): HostCpu & { vendor: string; featureSource: FeatureSource } {
  if (cachedCpu) return cachedCpu;
  const arch = process.arch;
  const info = readCpuInfo();
  let { model, vendor, flags } = info;
  let featureSource: FeatureSource = flags.size ? '/proc/cpuinfo' : 'none';
  // x86: the same CPUID bits XNNPACK reads to pick its kernels, on every OS (Windows has no /proc/cpuinfo).
  const cpuid = addonCpuid();
  if (cpuid) {
    const x = decodeX86Cpuid(cpuid);
    flags = x.flags;
    featureSource = 'cpuid';
    if (!vendor) vendor = x.vendor;
    if (x.model && (model === 'unknown' || !info.flags.size)) model = x.model;
  }
  if (flags.size === 0 && process.platform === 'darwin' && arch === 'arm64') {
    flags = darwinArmFlags();
    if (flags.size) featureSource = 'sysctl';
  }
  const names = arch === 'arm64' ? ARM_FEATURES : X86_FEATURES;
  const features: Record<string, boolean> = {};
  if (flags.size > 0) {
    for (const n of names) features[n] = flags.has(n);
    if (arch === 'x64') {
      features.avx512vnni = flags.has('avx512vnni') || flags.has('avx512_vnni');
      features.avx512bf16 = flags.has('avx512_bf16');
      delete features.avx512_bf16;
      delete features.avx512_vnni;
    }
    if (arch === 'arm64') features.dotprod = flags.has('asimddp');
  }
  cachedCpu = { arch, cpuModel: model, vendor, features, featureSource };
  return cachedCpu;
}

/** CPU features, LiteRT engine facts and the defaults this runtime uses. Never throws. */
export function describeHost(): HostReport {
  const arch = process.arch;
  const { cpuModel: model = 'unknown', vendor, features, featureSource } = hostCpu();
  const cpuFeatures: Record<string, boolean> = { ...features };
  const key = `${process.platform}-${arch}`;
  const engine: HostReport['engine'] = {
    name: 'LiteRT',
    version: LITERT_VERSION,
    api: 'CompiledModel C API',
    available: false,
  };
  try {
    const { path } = loadAddon();
    engine.available = true;
    engine.addonPath = path;
    const lib = join(dirname(path), LITERT_LIBRARY_NAMES[process.platform] ?? 'libLiteRt.so');
    if (existsSync(lib)) {
      engine.libraryPath = lib;
      engine.librarySha256 = createHash('sha256').update(readFileSync(lib)).digest('hex');
      engine.libraryPinned = engine.librarySha256 === LITERT_LIB_SHA256[key];
    }
  } catch (e) {
    engine.error = e instanceof Error ? e.message : String(e);
  }
  return {
    platform: process.platform,
    arch,
    cpuModel: model,
    cpuVendor: vendor,
    logicalCores: availableParallelism(),
    totalMemoryBytes: totalmem(),
    cpuFeatures,
    cpuFeatureSource: featureSource,
    engine,
    defaults: {
      threads: defaultThreads(),
      xnnpackFlagsWhenSet: DEFAULT_XNNPACK_FLAGS,
      cpuAccelerator: 'XNNPACK',
    },
    kernels: kernelNotes(arch, cpuFeatures, vendor),
  };
}
