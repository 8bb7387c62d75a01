import type { HostCpu } from '@audiogen/core';
import { describeGpu, describeHost, type GpuReport, type HostReport } from '@audiogen/runtime-native';
import {
  choosePrecision,
  describePrecision,
  loadModelFolder,
  MODEL_FILE_NAMES,
  MODEL_VARIANT_NAMES,
  type PrecisionChoice,
  type StableAudioModelFiles,
} from '@audiogen/stable-audio';
import type { Command } from 'commander';

export interface DoctorDeps {
  stdout?: (line: string) => void;
  describe?: () => HostReport;
  describeGpu?: () => Promise<GpuReport>;
}

export type DoctorReport = HostReport & { gpu: GpuReport; precision: PrecisionChoice };

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
    `          (read from ${h.cpuFeatureSource === 'none' ? 'nowhere: unknown here' : h.cpuFeatureSource})`,
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

/** A folder that has every precision: what `auto` picks when the folder leaves it the choice. */
const ALL_VARIANTS: StableAudioModelFiles = {
  conditioners: MODEL_FILE_NAMES.conditioners[0],
  dit: MODEL_FILE_NAMES.dit[0],
  decoder: MODEL_FILE_NAMES.decoder[0],
  tokenizer: MODEL_FILE_NAMES.tokenizer[0],
  variants: {
    dit: { fp32: MODEL_FILE_NAMES.dit[0], int8: MODEL_VARIANT_NAMES.dit.int8 },
    decoder: { fp32: MODEL_FILE_NAMES.decoder[0], int8: MODEL_VARIANT_NAMES.decoder.int8 },
  },
};

/** What `--precision auto` picks on this host (for a given folder, or one carrying every precision). */
export async function autoPrecision(h: HostReport, models?: string): Promise<PrecisionChoice> {
  const cpu: HostCpu = { arch: h.arch, cpuModel: h.cpuModel, features: h.cpuFeatures };
  const files = models ? (await loadModelFolder(models)).files : ALL_VARIANTS;
  return choosePrecision(files, 'auto', cpu);
}

export function formatPrecision(c: PrecisionChoice, models?: string): string[] {
  return [
    `precision auto → ${describePrecision(c)}${models ? '' : ' (for a folder with every precision)'}`,
    ...c.reasons.map((r) => `          ${r}`),
  ];
}

export async function runDoctor(
  opts: { json: boolean; models?: string },
  deps: DoctorDeps = {},
): Promise<DoctorReport> {
  const out = deps.stdout ?? ((l: string) => console.log(l));
  const host = (deps.describe ?? describeHost)();
  const precision = await autoPrecision(host, opts.models);
  const gpu = await (deps.describeGpu ?? describeGpu)();
  const report = { ...host, gpu, precision };
  if (opts.json) out(JSON.stringify(report, null, 2));
  else
    for (const l of [
      ...formatHostReport(host),
      ...formatPrecision(precision, opts.models),
      ...formatGpuReport(gpu),
    ])
      out(l);
  return report;
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description(
      'Report the CPU features, the LiteRT engine, the defaults this machine will use, the precision `auto` picks and the GPU LiteRT sees',
    )
    .option('--json', 'print the report as JSON', false)
    .option('-m, --models <dir>', 'also say which files of this model folder --precision auto runs')
    .action(async (opts: { json: boolean; models?: string }) => {
      const r = await runDoctor(opts);
      if (!r.engine.available) process.exitCode = 1;
    });
}
