import { describe, expect, it } from 'vitest';
import { visibleCpuFlags } from '../../../test/isa-mask/visible-flags';
import { type CpuidReader, decodeX86Cpuid, describeHost, hostCpu, kernelNotes } from './host';
import { createNativeRuntime } from './runtime';

describe('kernelNotes', () => {
  const avx2 = { avx2: true, fma: true, avx512f: false };
  it('names the Zen-tuned f32 kernels on AMD and the generic ones on Intel', () => {
    expect(kernelNotes('x64', avx2, 'AuthenticAMD')[0]).toMatch(/Zen-tuned 4x16s4/);
    expect(kernelNotes('x64', avx2, 'GenuineIntel')[0]).toBe(
      'f32 GEMM/IGEMM: XNNPACK FMA3/AVX2 microkernels',
    );
    expect(kernelNotes('x64', { ...avx2, avx512f: true }, 'AuthenticAMD')[0]).toMatch(/AVX-512F/);
  });
  it('picks the KleidiAI family from the arm64 features', () => {
    expect(kernelNotes('arm64', { sme2: true, sme: true })[0]).toMatch(/SME2/);
    expect(kernelNotes('arm64', { asimddp: true }).join('; ')).toMatch(/dotprod/);
  });
});

describe('describeHost', () => {
  it('reports the CPU vendor read from /proc/cpuinfo', () => {
    const h = describeHost();
    if (process.platform === 'linux' && process.arch === 'x64') expect(h.cpuVendor).toMatch(/^\S+$/);
    expect(typeof h.cpuVendor).toBe('string');
  });
});

describe('hostCpu', () => {
  it('reads the flags the precision policy keys on, in their Linux names', () => {
    const c = hostCpu();
    expect(c.arch).toBe(process.arch);
    if (process.platform === 'linux' && process.arch === 'x64') {
      const flags = [...visibleCpuFlags()];
      expect(c.features.avx2).toBe(flags.includes('avx2'));
      expect(c.features.avx512vnni).toBe(flags.includes('avx512_vnni') || flags.includes('avx512vnni'));
      expect(c.features.avx_vnni).toBe(flags.includes('avx_vnni'));
      expect(createNativeRuntime().host).toEqual(c);
    }
  });
});

/** A CPUID made of leaves; each absent leaf reads as zeros (as a CPU does past its maximum leaf). */
function fakeCpuid(leaves: Record<string, [number, number, number, number]>): CpuidReader {
  return (leaf, subleaf) => leaves[`${leaf.toString(16)}.${subleaf}`] ?? [0, 0, 0, 0];
}
/** Text as little-endian 32-bit words (a copy: a short Buffer is a view into a shared pool). */
const words = (s: string, n: number) =>
  Array.from(new Uint32Array(Uint8Array.from(Buffer.from(s.padEnd(n, '\0'), 'latin1')).buffer));
const ascii = (s: string) => words(s, 16);

describe('decodeX86Cpuid', () => {
  // Zen 4's bits: AVX2, AVX-512 F/DQ/BW/VL, VNNI (7.0 ecx 11), BF16 (7.1 eax 5); the OS saves ZMM state.
  const zen4 = {
    '0.0': [0x10, ...ascii('AuthenticAMD').slice(0, 3)] as [number, number, number, number],
    '1.0': [0, 0, (1 << 12) | (1 << 20) | (1 << 27) | (1 << 28) | (1 << 29), 0] as [
      number,
      number,
      number,
      number,
    ],
    '7.0': [1, (1 << 5) | (1 << 16) | (1 << 17) | (1 << 30) | (1 << 31), 1 << 11, 0] as [
      number,
      number,
      number,
      number,
    ],
    '7.1': [1 << 5, 0, 0, 0] as [number, number, number, number],
    'ffffffff.0': [0xe7, 0, 0, 0] as [number, number, number, number],
  };
  // The vendor string is ebx, edx, ecx: "Auth" "enti" "cAMD".
  const [b, c, d] = ascii('AuthenticAMD');
  zen4['0.0'] = [0x10, b!, d!, c!];

  it('names the features in their Linux spellings', () => {
    const x = decodeX86Cpuid(fakeCpuid(zen4));
    expect(x.vendor).toBe('AuthenticAMD');
    expect([...x.flags].sort()).toEqual(
      [
        'avx',
        'avx2',
        'avx512_bf16',
        'avx512_vnni',
        'avx512bw',
        'avx512dq',
        'avx512f',
        'avx512vl',
        'f16c',
        'fma',
        'sse4_2',
      ].sort(),
    );
  });
  it('drops what the OS does not save (XCR0), as XNNPACK does', () => {
    const noZmm = decodeX86Cpuid(fakeCpuid({ ...zen4, 'ffffffff.0': [0x7, 0, 0, 0] }));
    expect(noZmm.flags.has('avx2')).toBe(true);
    expect(noZmm.flags.has('avx512f')).toBe(false);
    expect(noZmm.flags.has('avx512_vnni')).toBe(false);
    const noXsave = decodeX86Cpuid(fakeCpuid({ ...zen4, '1.0': [0, 0, 1 << 20, 0] }));
    expect([...noXsave.flags]).toEqual(['sse4_2']);
  });
  it('reads AVX-VNNI from leaf 7.1 and the brand string from the extended leaves', () => {
    const brand = 'Intel(R) Core(TM) i7-12700 CPU   ';
    const w = words(brand, 48);
    const x = decodeX86Cpuid(
      fakeCpuid({
        ...zen4,
        '7.0': [1, 1 << 5, 0, 0],
        '7.1': [1 << 4, 0, 0, 0],
        '80000000.0': [0x80000008, 0, 0, 0],
        '80000002.0': w.slice(0, 4) as [number, number, number, number],
        '80000003.0': w.slice(4, 8) as [number, number, number, number],
        '80000004.0': w.slice(8, 12) as [number, number, number, number],
      }),
    );
    expect(x.flags.has('avx_vnni')).toBe(true);
    expect(x.flags.has('avx512f')).toBe(false);
    expect(x.model).toBe('Intel(R) Core(TM) i7-12700 CPU');
  });
  it.runIf(process.platform === 'linux' && process.arch === 'x64')(
    "agrees with the kernel's /proc/cpuinfo on this machine for every feature the policy reads",
    () => {
      const proc = visibleCpuFlags();
      const c = hostCpu();
      expect(c.featureSource).toBe('cpuid');
      for (const [name, on] of Object.entries(c.features)) {
        const procName = { avx512vnni: 'avx512_vnni', avx512bf16: 'avx512_bf16' }[name] ?? name;
        expect([name, on]).toEqual([name, proc.has(procName)]);
      }
    },
  );
});
