import { describeSamplers } from '@audiogen/sampler';
import { STABLE_AUDIO_NOISES, STABLE_AUDIO_SCHEDULES } from '@audiogen/stable-audio';
import type { Command } from 'commander';

/** What `generate` can be given for --schedule and --noise (the samplers come from the registry). */
const SCHEDULES: Record<(typeof STABLE_AUDIO_SCHEDULES)[number], string> = {
  rf: "rectified-flow schedule of stable-audio-tools' sample_rf (default)",
  'arm-f32': "the same times computed as Arm's C++ fill_sigmas, in float32 (one ulp apart at most)",
};
const NOISES: Record<(typeof STABLE_AUDIO_NOISES)[number], string> = {
  philox: 'counter-based Philox normal streams (default): the same bits on every platform and thread count',
  'arm-mt19937': "Arm's app: std::mt19937 + libstdc++ normal_distribution<float>, bit-equal",
};

export interface SamplersListing {
  samplers: { name: string; description: string }[];
  schedules: { name: string; description: string }[];
  noises: { name: string; description: string }[];
}

export function listSamplerChoices(): SamplersListing {
  const rows = (names: readonly string[], d: Record<string, string>) =>
    names.map((name) => ({ name, description: d[name] ?? '' }));
  return {
    samplers: describeSamplers(),
    schedules: rows(STABLE_AUDIO_SCHEDULES, SCHEDULES),
    noises: rows(STABLE_AUDIO_NOISES, NOISES),
  };
}

/** Runs `audiogen samplers`: the registered samplers (--sampler), schedules (--schedule) and noises (--noise). */
export function runSamplers(
  opts: { json?: boolean },
  deps: { stdout?: (l: string) => void } = {},
): SamplersListing {
  const out = deps.stdout ?? ((l: string) => process.stdout.write(`${l}\n`));
  const l = listSamplerChoices();
  if (opts.json) {
    out(JSON.stringify(l));
    return l;
  }
  const section = (title: string, rows: { name: string; description: string }[]) => {
    out(title);
    for (const r of rows) out(`  ${r.name.padEnd(14)} ${r.description}`);
  };
  section('samplers (--sampler)', l.samplers);
  section('schedules (--schedule)', l.schedules);
  section('noise (--noise)', l.noises);
  return l;
}

export function registerSamplers(program: Command): void {
  program
    .command('samplers')
    .description('List the samplers, schedules and noise generators `generate` takes')
    .option('--json', 'print the listing as JSON', false)
    .action((opts: { json?: boolean }) => {
      runSamplers(opts);
    });
}
