import { basename, dirname, extname, join } from 'node:path';
import { applyOutputPolicy, readWav, type WavSampleFormat, writeWav } from '@audiogen/audio-io';
import {
  type AudioClip,
  AudiogenError,
  checkOutputTargets,
  isAudiogenError,
  isStdoutTarget,
  makeOutputFolder,
  type Runtime,
} from '@audiogen/core';
import * as runtimeNative from '@audiogen/runtime-native';
import {
  createStableAudioPipeline,
  describePrecision,
  describeStableAudioFolder,
  PRECISIONS,
  type PrecisionRequest,
  prepareStableAudioRequest,
  STABLE_AUDIO_NOISES,
  STABLE_AUDIO_SCHEDULES,
  type StableAudioNoise,
  type StableAudioOptionName,
  type StableAudioRequestOptions,
  type StableAudioResult,
  type StableAudioSchedule,
  samplerApi,
} from '@audiogen/stable-audio';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { createReporter, generationProgress, progressMode } from '../progress';
import {
  type AcceleratorCliOptions,
  acceleratorPipelineOptions,
  addAcceleratorOptions,
  placementLines,
} from './accelerator';

export interface GenerateCliOptions extends AcceleratorCliOptions {
  models: string;
  seconds?: number;
  fullLength?: boolean;
  steps?: number;
  sampler?: string;
  schedule?: StableAudioSchedule;
  cfg?: number;
  negative?: string;
  seed?: number;
  variations: number;
  initAudio?: string;
  initNoise?: number;
  threads?: number;
  format: WavSampleFormat;
  out: string;
  json: boolean;
  noise: StableAudioNoise;
  raw: boolean;
  decoderFp16?: boolean;
  /** Which precision of the models to run (default auto: chosen for this CPU). */
  precision?: PrecisionRequest;
  /** Load each model only for its stage (residency 'stage'): lower peak memory, loads on every run. */
  lowMemory?: boolean;
  progress: boolean;
  quiet?: boolean;
}

export interface GenerateDeps {
  /** Builds the runtime; defaults to @audiogen/runtime-native's createNativeRuntime. */
  createRuntime?: () => Runtime | Promise<Runtime>;
  stdout?: (line: string) => void;
  stderr?: (line: string) => void;
  /** Where Ctrl-C comes from (default: process). */
  signals?: Pick<NodeJS.Process, 'on' | 'off'>;
}

/** A commander parser for a number flag; the message names the flag. */
export const num =
  (what: string, { int = false, min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY } = {}) =>
  (v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || (int && !Number.isInteger(n)) || n < min || n > max) {
      const range = max < Infinity ? ` in [${min}, ${max}]` : min > -Infinity ? ` ≥ ${min}` : '';
      throw new InvalidArgumentError(`${what} must be ${int ? 'an integer' : 'a number'}${range}`);
    }
    return n;
  };

async function defaultRuntime(): Promise<Runtime> {
  const create = (runtimeNative as unknown as { createNativeRuntime?: (o?: unknown) => Runtime })
    .createNativeRuntime;
  if (typeof create !== 'function') {
    throw new AudiogenError(
      'ENGINE_UNAVAILABLE',
      '@audiogen/runtime-native does not provide createNativeRuntime',
    );
  }
  return create();
}

/** out.wav → out.wav for one clip; out-1.wav, out-2.wav… for variations. */
export function outputPaths(out: string, count: number): string[] {
  if (count === 1) return [out];
  const ext = extname(out) || '.wav';
  const stem = join(dirname(out), basename(out, extname(out)));
  return Array.from({ length: count }, (_, i) => `${stem}-${i + 1}${ext}`);
}

const ms = (v: number) => `${v.toFixed(0)} ms`;

/** The CLI's flag for each request option: errors and warnings speak the CLI's language. */
export const GENERATE_FLAGS: Partial<Record<StableAudioOptionName, string>> = {
  prompt: '<prompt>',
  negativePrompt: '--negative',
  seconds: '--seconds',
  fullLength: '--full-length',
  steps: '--steps',
  sampler: '--sampler',
  schedule: '--schedule',
  cfgScale: '--cfg',
  seed: '--seed',
  variations: '--variations',
  initAudio: '--init-audio',
  initNoiseLevel: '--init-noise',
  noise: '--noise',
};

/** Reads --init-audio; file problems name the flag and the file. */
async function readInitAudio(path: string): Promise<AudioClip> {
  try {
    return await readWav(path);
  } catch (e) {
    if (!isAudiogenError(e)) throw e;
    throw new AudiogenError(e.code, `--init-audio: ${e.message}`, {
      cause: e,
      details: { ...e.details, path, option: 'initAudio' },
    });
  }
}

/**
 * Runs one generation as the CLI does. Everything that can be wrong with the options, the model folder (from
 * its files' tables) and the output paths is found before any model loads and before anything is printed;
 * each clip is written (atomically) as soon as it is decoded, so Ctrl-C keeps the finished ones.
 */
export async function runGenerate(
  prompt: string,
  o: GenerateCliOptions,
  deps: GenerateDeps = {},
): Promise<{ result: StableAudioResult; files: string[] }> {
  let out = deps.stdout ?? ((l: string) => process.stdout.write(`${l}\n`));
  const err = deps.stderr ?? ((l: string) => process.stderr.write(`${l}\n`));
  const signals = deps.signals ?? process;
  const human = !o.json;

  // 1. Check before working: folder tables, options, init audio, output paths. Nothing loaded or printed yet.
  const runtime = await (deps.createRuntime ?? defaultRuntime)();
  const pipelineOptions = {
    runtime,
    threads: o.threads,
    ...(o.decoderFp16 !== undefined ? { decoderFp16: o.decoderFp16 } : {}),
    ...(o.precision !== undefined ? { precision: o.precision } : {}),
    ...acceleratorPipelineOptions(o),
    loadEncoder: o.initAudio !== undefined,
    residency: (o.lowMemory ? 'stage' : 'all') as 'stage' | 'all',
  };
  const info = await describeStableAudioFolder({ models: o.models, ...pipelineOptions });
  const initAudio = o.initAudio !== undefined ? await readInitAudio(o.initAudio) : undefined;
  const options: StableAudioRequestOptions = {
    prompt,
    negativePrompt: o.negative,
    seconds: o.seconds,
    fullLength: o.fullLength,
    steps: o.steps,
    sampler: o.sampler,
    schedule: o.schedule,
    cfgScale: o.cfg,
    seed: o.seed,
    variations: o.variations,
    initAudio,
    initNoiseLevel: o.initNoise,
    noise: o.noise,
  };
  const request = prepareStableAudioRequest(options, info.limits, {
    api: samplerApi(),
    names: GENERATE_FLAGS,
  });
  const files = outputPaths(o.out, request.variations);
  const targets = await checkOutputTargets(
    files.map((path) => ({ path })),
    { parents: true, inputs: [o.initAudio, ...Object.values(info.folder.files)] },
  );
  // The WAV itself goes to stdout: our own lines must not be mixed into it.
  if (targets.some(isStdoutTarget)) out = err;

  // 2. Say what will happen (the seed first, so an interrupted run can be repeated), then load and run.
  if (human) {
    err(`seed ${request.seed}`);
    for (const w of request.warnings) err(`warning: ${w}`);
    err(`precision ${info.precision.requested}: ${describePrecision(info.precision)}`);
  }
  const reporter = createReporter(progressMode(o), { write: deps.stderr });
  const onProgress = generationProgress(reporter, request.variations);
  const ac = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      err('\naudiogen: stopping after the current step; finished clips are kept (Ctrl-C again to quit now)…');
      ac.abort(new Error('interrupted'));
    } else {
      process.exit(130);
    }
  };
  signals.on('SIGINT', onSigint);
  const written: string[] = [];
  try {
    const pipeline = await createStableAudioPipeline({ models: info.folder, ...pipelineOptions, onProgress });
    try {
      let result: StableAudioResult;
      try {
        result = await pipeline.generate({
          ...options,
          seed: request.seed,
          signal: ac.signal,
          onProgress,
          onClip: async (c, i) => {
            const file = files[i]!;
            if (i === 0) await makeOutputFolder(dirname(file));
            await writeWav(file, applyOutputPolicy(c.clip, o.raw ? 'raw' : 'default'), { format: o.format });
            written.push(file);
          },
        });
      } catch (e) {
        if (!isAudiogenError(e, 'ABORTED')) throw e;
        const kept = written.length ? `kept ${written.join(', ')}` : 'no clip was finished';
        throw new AudiogenError('ABORTED', `stopped: ${kept} (${written.length} of ${files.length} clips)`, {
          cause: e,
          details: { files: written, seeds: written.map((_, i) => (request.seed + i) >>> 0) },
        });
      }
      reporter.close();
      const t = result.timings;
      const steps = t.stepMs.flat();
      const perStep = steps.length ? steps.reduce((a, b) => a + b, 0) / steps.length : 0;
      // Loads at creation (every model by default) plus loads inside generate (--low-memory: one per stage).
      const loadByModel: Record<string, number> = { ...pipeline.loadMs };
      for (const [k, v] of Object.entries(t.loadMs)) loadByModel[k] = (loadByModel[k] ?? 0) + v;
      const loadMs = Object.values(loadByModel).reduce((a, b) => a + b, 0);
      if (human) {
        for (const w of result.warnings.filter((w) => !request.warnings.includes(w))) err(`warning: ${w}`);
        if (o.accelerator !== undefined)
          for (const l of placementLines(pipeline.placement)) err(`placement: ${l}`);
        // The DiT picked by timing (auto on an AVX2 CPU without VNNI): what won, on what evidence.
        if (info.precision.ditCandidates && pipeline.precision.ditMeasured)
          err(`precision: ${pipeline.precision.reasons.find((r) => r.startsWith('DiT '))}`);
        if (result.clips.length > 1)
          err(`variations use seeds ${result.clips.map((c) => c.seed).join(', ')}`);
        err(
          `timings: load ${ms(loadMs)}, T5 ${ms(t.encodeMs)}, DiT ${ms(t.denoiseMs)} (${ms(perStep)}/step), ` +
            `decoder ${ms(t.decodeMs)} (${result.decodedFrames.latent}/${result.decodedFrames.total} latent frames), total ${ms(t.totalMs)}${pipeline.residency === 'stage' ? ' (loads included)' : ''}`,
        );
        for (const f of files)
          out(`wrote ${f} (${result.seconds.toFixed(2)} s, ${result.sampleRate} Hz, ${o.format})`);
      } else {
        out(
          JSON.stringify({
            files,
            seed: result.seed,
            seeds: result.clips.map((c) => c.seed),
            seconds: result.seconds,
            secondsRequested: result.secondsRequested,
            sampleRate: result.sampleRate,
            format: o.format,
            steps: result.steps,
            sampler: result.sampler,
            schedule: result.schedule,
            noise: result.noise,
            cfgScale: result.cfgScale,
            promptTruncated: result.promptTruncated,
            warnings: result.warnings,
            residency: pipeline.residency,
            precision: {
              requested: pipeline.precision.requested,
              dit: pipeline.precision.dit,
              decoder: pipeline.precision.decoder,
              reasons: pipeline.precision.reasons,
            },
            placement: pipeline.placement,
            decodedFrames: result.decodedFrames,
            timings: {
              loadMs: loadByModel,
              encodeMs: t.encodeMs,
              stepMs: t.stepMs,
              ditMsPerStep: perStep,
              denoiseMs: t.denoiseMs,
              decodeMs: t.decodeMs,
              totalMs: t.totalMs,
            },
          }),
        );
      }
      return { result, files };
    } finally {
      pipeline.dispose();
    }
  } finally {
    reporter.close();
    signals.off('SIGINT', onSigint);
  }
}

export function registerGenerate(program: Command, deps: GenerateDeps = {}): void {
  addAcceleratorOptions(program.command('generate'))
    .description('Text to audio with a Stable Audio Open model folder (prompt in, WAV out)')
    .argument('<prompt>', 'what the audio should sound like')
    .requiredOption('-m, --models <dir>', 'model folder (audiogen convert output, or Arm’s export)')
    .option(
      '-s, --seconds <n>',
      'clip length in seconds, in (0, longest clip] — 11.89 s for SAO-small; never clamped (default 10)',
      num('--seconds'),
    )
    .option(
      '--full-length',
      "write the decoder's whole output (11.89 s for SAO-small) while conditioning on --seconds, as Arm's app",
    )
    .option('--steps <n>', 'denoising steps (family default: 8)', num('--steps', { int: true, min: 1 }))
    .option('--sampler <name>', 'sampler (family default: pingpong; see `audiogen samplers`)')
    .addOption(
      new Option('--schedule <name>', "time schedule: rf, or arm-f32 (Arm's float32 fill_sigmas)")
        .choices([...STABLE_AUDIO_SCHEDULES])
        .default('rf'),
    )
    .option(
      '--cfg <scale>',
      'classifier-free guidance scale (family default: 1 = off)',
      num('--cfg', { min: 0 }),
    )
    .option('--negative <prompt>', 'negative prompt (used when --cfg is not 1; a warning otherwise)')
    .option(
      '--seed <n>',
      'uint32 seed (random and printed when omitted)',
      num('--seed', { int: true, min: 0 }),
    )
    .option(
      '--variations <n>',
      'number of clips (seeds seed, seed+1, …)',
      num('--variations', { int: true, min: 1 }),
      1,
    )
    .option('--init-audio <wav>', 'audio-to-audio: start from this WAV (needs autoencoder_encoder.tflite)')
    .option('--init-noise <level>', 'audio-to-audio noise level in (0, 1] (default 0.7)', num('--init-noise'))
    .option('--threads <n>', 'CPU threads', num('--threads', { int: true, min: 1, max: 1024 }))
    .addOption(
      new Option('--format <fmt>', 'WAV sample format').choices(['pcm16', 'pcm24', 'f32']).default('pcm16'),
    )
    .option('-o, --out <file>', 'output WAV (variations: file-1.wav, file-2.wav, …)', 'out.wav')
    .addOption(
      new Option('--noise <kind>', "noise generator: philox, or arm-mt19937 (Arm's std::mt19937)")
        .choices([...STABLE_AUDIO_NOISES])
        .default('philox'),
    )
    .option('--raw', 'write the decoder output as is (no peak protection)', false)
    .addOption(
      new Option(
        '--precision <p>',
        'model precision: auto = int8 DiT where this CPU has int8 dot-product instructions (VNNI, dotprod, ' +
          'i8mm, SME2), on AVX2 without VNNI the faster DiT by one timed step (once, cached), float decoder; fast = int8 DiT + int8 decoder preset (audio SNR vs fp32 in the README); ' +
          'int8 = int8 DiT, float decoder; fp32 = float only. Extra precisions come from `audiogen quantize <folder> --preset auto|fast`',
      )
        .choices([...PRECISIONS])
        .default('auto'),
    )
    .option('--decoder-fp16', 'run the decoder with FORCE_FP16 (default on Arm CPUs with fp16 arithmetic)')
    .option('--no-decoder-fp16', 'run the decoder in fp32')
    .option(
      '--low-memory',
      'load each model only for its stage and free it after (conditioner, DiT, decoder): peak memory is the ' +
        'largest stage instead of all models together; every run pays the model loads',
    )
    .option('--no-progress', 'no progress bars or lines')
    .option('-q, --quiet', 'no progress (results and errors only)', false)
    .option('--json', 'print one JSON line with files, seeds and timings (errors as JSON too)', false)
    .action(async (prompt: string, opts: GenerateCliOptions) => {
      await runGenerate(prompt, opts, deps);
    });
}
