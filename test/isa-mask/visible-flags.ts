// The x86 flags this process's CPUID shows: the kernel's /proc/cpuinfo minus what scripts/isa-mask.mjs hides when
// the tests themselves run under it (AUDIOGEN_ISA_MASK set: a whole CI run made to look like an AVX2-only CPU).
import { readFileSync } from 'node:fs';
import { ISA_MASKS } from '../../scripts/isa-mask.mjs';

export function visibleCpuFlags(): Set<string> {
  const line = /^flags\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
  const mask = process.env.AUDIOGEN_ISA_MASK;
  const hidden = new Set(mask ? (ISA_MASKS[mask]?.hides ?? []) : []);
  return new Set(line.split(/\s+/).filter((f) => f && !hidden.has(f)));
}
