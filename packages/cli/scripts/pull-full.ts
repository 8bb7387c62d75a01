/**
 * `audiogen pull` at full size against the local fake Hub (no internet): a random-weight Stable Audio Open
 * Small checkpoint of the real key names and sizes plus a t5-base folder, served gated on 127.0.0.1; the CLI
 * (a child process, as a user runs it) is interrupted with SIGINT part-way through the checkpoint, run again
 * (it resumes), converts, writes the int8 DiT, and the folder then generates a clip.
 *
 *   npm run pull:full -w @audiogen/cli [-- <work dir>] [--rate MBps]    (build first; minutes; ~8 GB of disk)
 *
 * Prints a summary of times and sizes. Run it under `flock /tmp/audiogen-bench.lock` on a shared machine.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeRandomStableAudioCheckpoint } from '@audiogen/convert';
import { startFakeHub } from '@audiogen/hub/test';

const args = process.argv.slice(2);
const rateAt = args.indexOf('--rate');
const rate = rateAt >= 0 ? Number(args[rateAt + 1]) * 1e6 : undefined;
const work = resolve(
  args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--rate') ??
    join(tmpdir(), 'audiogen-pull-full'),
);
const cli = fileURLToPath(new URL('../bin/audiogen.js', import.meta.url));
const SAO = 'stabilityai/stable-audio-open-small';
const T5 = 'google-t5/t5-base';
const t = () => performance.now();
const rows: [string, string][] = [];
const log = (k: string, v: string) => {
  rows.push([k, v]);
  console.log(`${k}: ${v}`);
};

mkdirSync(work, { recursive: true });
const src = join(work, 'src');
let t0 = t();
const files = existsSync(join(src, 't5', 'spiece.model'))
  ? { checkpointDir: join(src, 'checkpoint'), t5Dir: join(src, 't5') }
  : await writeRandomStableAudioCheckpoint(src, {
      seed: 1,
      // The converter's small SentencePiece asset (this script runs from packages/cli/build/).
      spiece: fileURLToPath(new URL('../../convert/assets/spiece.model', import.meta.url)),
    });
log('random checkpoint written (or reused)', `${((t() - t0) / 1000).toFixed(1)} s`);
const size = (p: string) => statSync(p).size;
const ckptBytes = size(join(files.checkpointDir, 'model.safetensors'));
const t5Bytes = size(join(files.t5Dir, 'model.safetensors'));
log('checkpoint model.safetensors', `${(ckptBytes / 1e9).toFixed(3)} GB`);
log('t5 model.safetensors', `${(t5Bytes / 1e9).toFixed(3)} GB`);

t0 = t();
const hub = await startFakeHub({
  repos: [
    {
      id: SAO,
      gated: 'manual',
      cardData: { license: 'other', license_name: 'stabilityai-ai-community' },
      files: {
        'model.safetensors': { path: join(files.checkpointDir, 'model.safetensors') },
        'model_config.json': { path: join(files.checkpointDir, 'model_config.json') },
      },
    },
    {
      id: T5,
      cardData: { license: 'apache-2.0' },
      files: {
        'model.safetensors': { path: join(files.t5Dir, 'model.safetensors') },
        'config.json': { path: join(files.t5Dir, 'config.json') },
        'spiece.model': { path: join(files.t5Dir, 'spiece.model') },
      },
    },
  ],
  tokens: { hf_full_size: [SAO] },
});
if (rate) hub.behaviour.bytesPerSecond = rate;
log('fake Hub up (hashes computed)', `${((t() - t0) / 1000).toFixed(1)} s`);

const home = join(work, `hf-home-${Date.now()}`);
const out = join(work, 'models', 'stable-audio-open-small');
const env = {
  ...process.env,
  HF_ENDPOINT: hub.url,
  HF_HOME: home,
  HF_TOKEN: 'hf_full_size',
  AUDIOGEN_PROGRESS: 'lines',
};

/** Runs the CLI; with `interruptAt`, sends SIGINT once the checkpoint's partial file passes that many bytes. */
async function run(
  argv: string[],
  interruptAt?: number,
): Promise<{ code: number | null; ms: number; stderr: string }> {
  const start = t();
  const child = spawn(process.execPath, [cli, ...argv], { env, stdio: ['ignore', 'inherit', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c) => {
    stderr += c;
    process.stderr.write(c);
  });
  let timer: NodeJS.Timeout | undefined;
  if (interruptAt !== undefined) {
    const blobs = join(home, 'hub', 'models--stabilityai--stable-audio-open-small', 'blobs');
    timer = setInterval(() => {
      const partial = existsSync(blobs)
        ? (readdirSync(blobs).find((f) => f.endsWith('.incomplete')) ?? '')
        : '';
      if (partial && size(join(blobs, partial)) >= interruptAt) {
        child.kill('SIGINT');
        clearInterval(timer);
      }
    }, 20);
  }
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (timer) clearInterval(timer);
  return { code, ms: t() - start, stderr };
}

const first = await run(['pull', 'stable-audio-open-small', '--out', out], Math.floor(ckptBytes * 0.4));
log(
  'pull interrupted (SIGINT at 40 % of the checkpoint)',
  `exit ${first.code} after ${(first.ms / 1000).toFixed(1)} s`,
);
const second = await run(['pull', 'stable-audio-open-small', '--out', out]);
if (second.code !== 0) throw new Error(`pull failed (exit ${second.code})`);
const resumed = /resuming model\.safetensors at ([\d.]+ [MG]B)/.exec(second.stderr)?.[1];
log('pull resumed and finished', `${(second.ms / 1000).toFixed(1)} s (resumed at ${resumed ?? '?'})`);
for (const m of second.stderr.matchAll(/^(\S+): ([\d.]+ [MG]B in [\d.]+ s, \S+ verified)$/gm))
  log(`  ${m[1]}`, m[2]!);
const manifest = JSON.parse(readFileSync(join(out, 'audiogen.json'), 'utf8'));
log(
  'audiogen.json source.hub',
  JSON.stringify({
    repo: manifest.source.hub.repo,
    commit: manifest.source.hub.commit.slice(0, 12),
    licence: manifest.source.hub.licence,
  }),
);
for (const f of [
  'conditioners.tflite',
  'dit_model.tflite',
  'dit_model.int8.tflite',
  'autoencoder_model.tflite',
]) {
  log(`  ${f}`, `${(size(join(out, f)) / 1e6).toFixed(1)} MB`);
}
const again = await run(['pull', 'stable-audio-open-small', '--out', out]);
log('pull again (up to date)', `${(again.ms / 1000).toFixed(1)} s, exit ${again.code}`);
const gen = await run([
  'generate',
  'warm ambient pads',
  '--models',
  out,
  '--seconds',
  '2',
  '--out',
  join(work, 'full.wav'),
]);
log('generate from the pulled folder (2 s clip)', `exit ${gen.code} in ${(gen.ms / 1000).toFixed(1)} s`);
await hub.close();
console.log(
  `\n| step | result |\n| --- | --- |\n${rows.map(([k, v]) => `| ${k.trim()} | ${v} |`).join('\n')}`,
);
