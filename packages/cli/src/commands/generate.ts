import { basename, dirname, extname, join } from 'node:path';
import { applyOutputPolicy, readWav, type WavSampleFormat, writeWav } from '@audiogen/audio-io';
import {
  AudiogenError,
  checkOutputTargets,
  makeOutputFolder,
  type ProgressEvent,
  type Runtime,
  randomSeed,
} from '@audiogen/core';
import * as runtimeNative from '@audiogen/runtime-native';
import {
  createStableAudioPipeline,
  describePrecision,
  PRECISIONS,
  type PrecisionRequest,
  type StableAudioResult,
} from '@audiogen/stable-audio';
import cliProgress from 'cli-progress';
import { type Command, InvalidArgumentError, Option } from 'commander';

export interface GenerateCliOptions {
  models: string;
  seconds?: number;
  steps?: number;
  sampler?: string;
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
  noise: 'philox' | 'arm-mt19937';
  raw: boolean;
  decoderFp16?: boolean;
  /** Which precision of the models to run (default auto: chosen for this CPU). */
  precision?: PrecisionRequest;
  /** Load each model only for its stage (residency 'stage'): lower peak memory, loads on every run. */
  lowMemory?: boolean;
  progress: boolean;
}

export interface GenerateDeps {
  /** Builds the runtime; defaults to @audiogen/runtime-native's createNativeRuntime. */
  createRuntime?: () => Runtime | Promise<Runtime>;
  stdout?: (line: string) => void;
  stderr?: (line: string) => void;
  /** Where Ctrl-C comes from (default: process). */
  signals?: Pick<NodeJS.Process, 'on' | 'off'>;
}

const num =
  (what: string, { int = false, min = Number.NEGATIVE_INFINITY } = {}) =>
  (v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || (int && !Number.isInteger(n)) || n < min) {
      throw new InvalidArgumentError(
        `${what} must be ${int ? 'an integer' : 'a number'}${min > -Infinity ? ` ≥ ${min}` : ''}`,
      );
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

/** Runs one generation as the CLI does; returns the result and the files written. */
export async function runGenerate(
  prompt: string,
  o: GenerateCliOptions,
  deps: GenerateDeps = {},
): Promise<{ result: StableAudioResult; files: string[] }> {
  const out = deps.stdout ?? ((l: string) => process.stdout.write(`${l}\n`));
  const err = deps.stderr ?? ((l: string) => process.stderr.write(`${l}\n`));
  const signals = deps.signals ?? process;
  const human = !o.json;
  // Output paths checked before any model is loaded: a read-only folder, a parent that is a file or
  // --out == --init-audio fail now, not after a full generation.
  await checkOutputTargets(
    outputPaths(o.out, o.variations ?? 1).map((path) => ({ path })),
    { inputs: [o.initAudio] },
  );
  const runtime = await (deps.createRuntime ?? defaultRuntime)();

  const ac = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      err('\naudiogen: stopping after the current step (Ctrl-C again to quit now)…');
      ac.abort(new Error('interrupted'));
    } else {
      process.exit(130);
    }
  };
  signals.on('SIGINT', onSigint);

  const bars =
    o.progress && human && process.stderr.isTTY
      ? new cliProgress.MultiBar(
          {
            format: ' {stage} |{bar}| {value}/{total} {info}',
            hideCursor: true,
            clearOnComplete: false,
            stream: process.stderr,
          },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  let stepBar: cliProgress.SingleBar | undefined;
  let stageBar: cliProgress.SingleBar | undefined;
  const stage = (name: string, total = 1) => {
    stageBar?.stop();
    stageBar = bars?.create(total, 0, { stage: name.padEnd(17), info: '' });
  };
  const onProgress = (e: ProgressEvent) => {
    if (!bars) return;
    switch (e.type) {
      case 'load':
        if (!e.done) stage(`load ${e.model}`);
        else stageBar?.update(1, { info: ms(e.ms ?? 0) });
        break;
      case 'encode':
        if (!e.done) stage('encode');
        else stageBar?.update(1, { info: ms(e.ms ?? 0) });
        break;
      case 'step':
        if (e.step === 0) {
          stageBar?.stop();
          stepBar = bars.create(e.steps, 0, { stage: `denoise ${e.variation + 1}`.padEnd(17), info: '' });
        }
        stepBar?.update(e.step + 1, { info: `t=${e.tNext.toFixed(3)} ${ms(e.ms)}/step` });
        break;
      case 'decode':
        if (!e.done) stage(`decode ${e.variation + 1}`);
        else stageBar?.update(1, { info: ms(e.ms ?? 0) });
        break;
      case 'done':
        break;
    }
  };

  try {
    const pipeline = await createStableAudioPipeline({
      models: o.models,
      runtime,
      threads: o.threads,
      ...(o.decoderFp16 !== undefined ? { decoderFp16: o.decoderFp16 } : {}),
      ...(o.precision !== undefined ? { precision: o.precision } : {}),
      loadEncoder: o.initAudio !== undefined,
      residency: o.lowMemory ? 'stage' : 'all',
      onProgress,
    });
    try {
      const initAudio = o.initAudio ? await readWav(o.initAudio) : undefined;
      // Pick (and show) the seed up front, so an interrupted run can still be repeated.
      const seed = o.seed ?? randomSeed();
      if (human) {
        err(`precision ${pipeline.precision.requested}: ${describePrecision(pipeline.precision)}`);
        err(`seed ${seed}`);
      }
      const result = await pipeline.generate({
        prompt,
        negativePrompt: o.negative,
        seconds: o.seconds,
        steps: o.steps,
        sampler: o.sampler,
        cfgScale: o.cfg,
        seed,
        variations: o.variations,
        initAudio,
        initNoiseLevel: o.initNoise,
        noise: o.noise,
        signal: ac.signal,
        onProgress,
      });
      stageBar?.stop();
      bars?.stop();
      bars?.stop();
      // Nothing is written before every clip is ready; each write is atomic, so Ctrl-C leaves no partial file.
      const files = outputPaths(o.out, result.clips.length);
      await makeOutputFolder(dirname(files[0]!));
      for (const [i, c] of result.clips.entries()) {
        const clip = applyOutputPolicy(c.clip, o.raw ? 'raw' : 'default');
        await writeWav(files[i]!, clip, { format: o.format });
      }
      const t = result.timings;
      const steps = t.stepMs.flat();
      const perStep = steps.length ? steps.reduce((a, b) => a + b, 0) / steps.length : 0;
      // Loads at creation (every model by default) plus loads inside generate (--low-memory: one per stage).
      const loadByModel: Record<string, number> = { ...pipeline.loadMs };
      for (const [k, v] of Object.entries(t.loadMs)) loadByModel[k] = (loadByModel[k] ?? 0) + v;
      const loadMs = Object.values(loadByModel).reduce((a, b) => a + b, 0);
      if (human) {
        for (const w of result.warnings) err(`warning: ${w}`);
        if (result.clips.length > 1)
          err(`variations use seeds ${result.clips.map((c) => c.seed).join(', ')}`);
        err(
          `timings: load ${ms(loadMs)}, T5 ${ms(t.encodeMs)}, DiT ${ms(t.denoiseMs)} (${ms(perStep)}/step), ` +
            `decoder ${ms(t.decodeMs)}, total ${ms(t.totalMs)}${pipeline.residency === 'stage' ? ' (loads included)' : ''}`,
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
    stageBar?.stop();
    bars?.stop();
    signals.off('SIGINT', onSigint);
  }
}

export function registerGenerate(program: Command, deps: GenerateDeps = {}): void {
  program
    .command('generate')
    .description('Text to audio with a Stable Audio Open model folder (prompt in, WAV out)')
    .argument('<prompt>', 'what the audio should sound like')
    .requiredOption('-m, --models <dir>', 'model folder (audiogen convert output, or Arm’s export)')
    .option(
      '-s, --seconds <n>',
      'clip length in seconds (clamped to the model maximum, 11.89 s)',
      num('--seconds', { min: 0 }),
    )
    .option('--steps <n>', 'denoising steps (family default: 8)', num('--steps', { int: true, min: 1 }))
    .option('--sampler <name>', 'sampler (family default: pingpong)')
    .option(
      '--cfg <scale>',
      'classifier-free guidance scale (family default: 1 = off)',
      num('--cfg', { min: 0 }),
    )
    .option('--negative <prompt>', 'negative prompt (used when --cfg is not 1)')
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
    .option(
      '--init-noise <level>',
      'audio-to-audio noise level in (0, 1] (default 0.7)',
      num('--init-noise', { min: 0 }),
    )
    .option('--threads <n>', 'CPU threads', num('--threads', { int: true, min: 1 }))
    .addOption(
      new Option('--format <fmt>', 'WAV sample format').choices(['pcm16', 'pcm24', 'f32']).default('pcm16'),
    )
    .option('-o, --out <file>', 'output WAV (variations: file-1.wav, file-2.wav, …)', 'out.wav')
    .addOption(
      new Option('--noise <kind>', 'noise generator').choices(['philox', 'arm-mt19937']).default('philox'),
    )
    .option('--raw', 'write the decoder output as is (no peak protection)', false)
    .addOption(
      new Option(
        '--precision <p>',
        'model precision: auto = int8 DiT where this CPU has int8 dot-product instructions (VNNI, dotprod, ' +
          'i8mm, SME2), float decoder; fast = int8 DiT + int8 decoder preset (audio SNR vs fp32 in the README); ' +
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
    .option('--no-progress', 'no progress bars')
    .option('--json', 'print one JSON line with files, seeds and timings', false)
    .action(async (prompt: string, opts: GenerateCliOptions) => {
      if (opts.initNoise !== undefined && !opts.initAudio) {
        throw new AudiogenError('INVALID_ARGUMENT', '--init-noise needs --init-audio');
      }
      await runGenerate(prompt, opts, deps);
    });
}
