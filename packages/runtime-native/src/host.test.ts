import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeHost, hostCpu, kernelNotes } from './host';
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
      const flags = /^flags\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))![1]!.split(/\s+/);
      expect(c.features.avx2).toBe(flags.includes('avx2'));
      expect(c.features.avx512vnni).toBe(flags.includes('avx512_vnni') || flags.includes('avx512vnni'));
      expect(c.features.avx_vnni).toBe(flags.includes('avx_vnni'));
      expect(createNativeRuntime().host).toEqual(c);
    }
  });
});
