import { describeGpu, describeHost, type GpuReport, type HostReport } from '@audiogen/runtime-native';
import type { Command } from 'commander';

export interface DoctorDeps {
  stdout?: (line: string) => void;
  describe?: () => HostReport;
  describeGpu?: () => Promise<GpuReport>;
}

export type DoctorReport = HostReport & { gpu: GpuReport };

/** The GPU lines: the adapter LiteRT picks and its accelerators, or why there is none. */
export function formatGpuReport(g: GpuReport): string[] {
  const lines = [
    g.available
      ? `gpu       ${g.adapter ?? 'an adapter (LiteRT did not log its name)'}`
      : `gpu       none: ${g.reason}${g.message ? ` — ${g.message}` : ''}`,
  ];
  if (g.library) lines.push(`          library ${g.library.file} (${g.library.source})`);
  if (g.searched?.length) lines.push(`          searched ${g.searched.join(', ')}`);
  if (g.accelerators)
    lines.push(`          LiteRT accelerators: ${g.accelerators.map((a) => a.name).join(', ') || 'none'}`);
  return lines;
}

/** Human-readable lines of a host report. */
export function formatHostReport(h: HostReport): string[] {
  const on = Object.entries(h.cpuFeatures)
    .filter(([, v]) => v)
    .map(([k]) => k);
  const off = Object.entries(h.cpuFeatures)
    .filter(([, v]) => !v)
    .map(([k]) => k);
  const e = h.engine;
  return [
    `host      ${h.platform}-${h.arch}, ${h.cpuModel}, ${h.logicalCores} logical cores, ${(h.totalMemoryBytes / 2 ** 30).toFixed(1)} GiB`,
    `cpu       ${on.join(' ') || '(none of the tracked features)'}`,
    `          missing: ${off.join(' ') || '-'}`,
    `engine    ${e.name} ${e.version} (${e.api}) — ${e.available ? 'available' : `NOT available: ${e.error}`}`,
    ...(e.addonPath ? [`addon     ${e.addonPath}`] : []),
    ...(e.libraryPath
      ? [
          `library   ${e.libraryPath}`,
          `          sha256 ${e.librarySha256} (${e.libraryPinned ? 'pinned' : 'NOT the pinned build'})`,
        ]
      : []),
    `defaults  ${h.defaults.threads} threads, ${h.defaults.cpuAccelerator}; XNNPACK flags when set: 0x${h.defaults.xnnpackFlagsWhenSet.toString(16)} (QS8|QU8) + FORCE_FP16 (0x4) for --fp16`,
    ...h.kernels.map((k, i) => `${i === 0 ? 'kernels   ' : '          '}${k}`),
  ];
}

export async function runDoctor(opts: { json: boolean }, deps: DoctorDeps = {}): Promise<DoctorReport> {
  const out = deps.stdout ?? ((l: string) => console.log(l));
  const host = (deps.describe ?? describeHost)();
  const gpu = await (deps.describeGpu ?? describeGpu)();
  const report = { ...host, gpu };
  if (opts.json) out(JSON.stringify(report, null, 2));
  else for (const l of [...formatHostReport(host), ...formatGpuReport(gpu)]) out(l);
  return report;
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description(
      'Report the CPU features, the LiteRT engine, the defaults this machine will use and the GPU LiteRT sees',
    )
    .option('--json', 'print the report as JSON', false)
    .action(async (opts: { json: boolean }) => {
      const r = await runDoctor(opts);
      if (!r.engine.available) process.exitCode = 1;
    });
}
