import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { convertStableAudioCheckpoint, FOLDER_FILES, HUB_SOURCES, type HubSources } from '@audiogen/convert';
import { AudiogenError, checkOutputTarget } from '@audiogen/core';
import {
  checkDiskSpace,
  type HubEvent,
  hubSettings,
  type PullPlan,
  type PullResult,
  planPull,
  runPull,
} from '@audiogen/hub';
import { quantizeFolderVariants, STABLE_AUDIO_VARIANT_PRESETS } from '@audiogen/quantize';
import type { Command } from 'commander';
import { createReporter, type ProgressMode, progressMode, type Reporter } from '../progress';

export interface PullCliOptions {
  out?: string;
  revision?: string;
  t5Revision?: string;
  precision?: string;
  offline?: boolean;
  force?: boolean;
  ignoreExtraKeys?: boolean;
  encoder?: boolean;
  json?: boolean;
  quiet?: boolean;
  progress?: boolean;
}

export interface PullCliDeps {
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  /** Underlying fetch (tests). */
  fetch?: typeof fetch;
}

/**
 * What `--precision` writes into the folder: the float models always, plus a folder-variant preset's int8 files
 * beside them (`auto`: int8 DiT; `fast`: + int8 decoder) for `generate --precision` to pick per host.
 */
export const PULL_PRECISIONS: readonly string[] = [...Object.keys(STABLE_AUDIO_VARIANT_PRESETS), 'fp32'];

export interface PullCliResult {
  repos: PullResult[];
  /** The ready model folder (known models only). */
  dir?: string;
  /** True when the folder already matched the pulled commits and was kept. */
  upToDate?: boolean;
}

const mb = (n: number) =>
  n >= 1e9
    ? `${(n / 1e9).toFixed(2)} GB`
    : n >= 1e5
      ? `${(n / 1e6).toFixed(1)} MB`
      : `${(n / 1e3).toFixed(1)} kB`;
const clock = (s: number) => {
  const t = Math.max(0, Math.round(s));
  return t >= 3600
    ? `${Math.floor(t / 3600)}:${String(Math.floor(t / 60) % 60).padStart(2, '0')}:${String(t % 60).padStart(2, '0')}`
    : `${Math.floor(t / 60)}:${String(t % 60).padStart(2, '0')}`;
};

/**
 * Download events on a reporter: a bar per file on a terminal (bytes, rate, ETA); otherwise a line per
 * 10 % of a file (or per 15 s, whichever comes first), and a line for every retry or restart.
 */
export function downloadProgress(
  r: Reporter,
  mode: ProgressMode,
  info: (line: string) => void,
): (e: HubEvent) => void {
  let bucket = -1;
  let lastLine = 0;
  return (e) => {
    switch (e.type) {
      case 'file-start':
        bucket = -1;
        lastLine = 0;
        r.begin(e.file.length > 24 ? `…${e.file.slice(-23)}` : e.file, Math.max(e.size, 1));
        if (e.resumeFrom > 0) info(`resuming ${e.file} at ${mb(e.resumeFrom)} of ${mb(e.size)}`);
        break;
      case 'progress': {
        const note = `${mb(e.bytes)}/${mb(e.total)} · ${mb(e.rate)}/s${e.etaSeconds !== undefined ? ` · ETA ${clock(e.etaSeconds)}` : ''}`;
        if (mode === 'lines') {
          const b = Math.floor((e.bytes / Math.max(e.total, 1)) * 10);
          const now = Date.now();
          if (b === bucket && now - lastLine < 15_000) break;
          bucket = b;
          lastLine = now;
        }
        r.update(e.bytes, note);
        break;
      }
      case 'file-done': {
        const note = `${mb(e.size)} in ${(e.ms / 1000).toFixed(1)} s, ${e.verified} verified`;
        r.end(note);
        if (mode === 'lines') info(`${e.file}: ${note}`);
        break;
      }
      case 'cached':
        info(`${e.file}: in the cache (${mb(e.size)})`);
        break;
      case 'retry':
        info(
          `${e.file ? `${e.file}: ` : ''}${e.reason}; retrying in ${(e.delayMs / 1000).toFixed(1)} s (attempt ${e.attempt})`,
        );
        break;
      case 'restart':
        info(`${e.file}: ${e.reason}`);
        break;
      case 'offline-fallback':
        info(`the Hub cannot be reached; using the cached files (${e.reason.split(':')[0]})`);
        break;
      case 'repo':
        break;
    }
  };
}

function describeRepo(p: PullPlan): string {
  const cached = p.files.filter((f) => f.cached).length;
  const what = p.downloadBytes > 0 ? `${mb(p.downloadBytes)} to download` : 'all files cached';
  return (
    `${p.repo} @ ${p.revision === p.commit ? p.commit.slice(0, 12) : `${p.revision} (${p.commit.slice(0, 12)})`}` +
    ` · licence: ${p.licence ?? (p.offline ? 'unknown offline' : 'not stated on the model card')}` +
    `${p.gated ? ' (gated)' : ''} · ${p.files.length} files, ${what}${cached && p.downloadBytes ? `, ${cached} cached` : ''}`
  );
}

/** The folder's audiogen.json records these commits, and every model file is there. */
function upToDate(dir: string, ckpt: PullPlan, t5: PullPlan, encoder: boolean): boolean {
  try {
    const m = JSON.parse(readFileSync(join(dir, FOLDER_FILES.manifest), 'utf8')) as {
      source?: { hub?: { commit?: string }; t5?: { commit?: string } };
    };
    const files: string[] = [
      FOLDER_FILES.conditioners,
      FOLDER_FILES.dit,
      FOLDER_FILES.decoder,
      FOLDER_FILES.tokenizer,
    ];
    if (encoder) files.push(FOLDER_FILES.encoder);
    return (
      m.source?.hub?.commit === ckpt.commit &&
      m.source?.t5?.commit === t5.commit &&
      files.every((f) => existsSync(join(dir, f)))
    );
  } catch {
    return false;
  }
}

/** How the next command is spelled: through npx when this one ran through npx. */
function cliName(): string {
  return process.env.npm_command === 'exec' ? 'npx @audiogen/cli' : 'audiogen';
}

const quote = (p: string) => (/^[\w./@:+-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`);

async function pullModel(
  name: string,
  src: HubSources,
  opts: PullCliOptions,
  deps: PullCliDeps,
  out: (t: string) => void,
  err: (t: string) => void,
): Promise<PullCliResult> {
  const precision = opts.precision ?? 'auto';
  if (!PULL_PRECISIONS.includes(precision)) {
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `--precision must be one of ${PULL_PRECISIONS.join(', ')} (got ${opts.precision})`,
    );
  }
  const dir = resolve(opts.out ?? join('models', name));
  await checkOutputTarget(dir, { kind: 'folder' });
  const common = {
    ...(opts.offline ? { offline: true } : {}),
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  };
  const ckptPlan = await planPull({
    repo: src.checkpoint.repo,
    files: src.checkpoint.files,
    ...(opts.revision ? { revision: opts.revision } : {}),
    ...common,
  });
  const t5Plan = await planPull({
    repo: src.t5.repo,
    files: src.t5.files,
    ...(opts.t5Revision ? { revision: opts.t5Revision } : {}),
    ...common,
  });
  // The licence is shown before anything is downloaded.
  for (const p of [ckptPlan, t5Plan]) err(describeRepo(p));
  if (ckptPlan.gated)
    err(
      `  using ${ckptPlan.repo} means accepting its licence: ${ckptPlan.settings.endpoint}/${ckptPlan.repo}`,
    );
  const encoder = opts.encoder !== false;
  const fresh = !opts.force && upToDate(dir, ckptPlan, t5Plan, encoder);
  const settings = ckptPlan.settings;
  await checkDiskSpace(settings.cacheDir, ckptPlan.downloadBytes + t5Plan.downloadBytes, 'the download');
  if (!fresh) {
    // The float models are about the size of the checkpoint plus the T5 encoder (≤ its file); int8 adds ¼ of the DiT.
    const size = (p: PullPlan) => p.files.reduce((a, f) => a + f.size, 0);
    const need = Math.round((size(ckptPlan) + size(t5Plan)) * (precision === 'fp32' ? 1 : 1.3));
    await checkDiskSpace(dirname(dir), need, `the model folder ${dir}`);
  }
  const mode = progressMode(opts);
  const reporter = createReporter(mode, { write: deps.stderr });
  const info = mode === 'none' ? () => {} : err;
  const onEvent = downloadProgress(reporter, mode, info);
  let repos: PullResult[];
  try {
    repos = [await runPull(ckptPlan, { onEvent, ...common }), await runPull(t5Plan, { onEvent, ...common })];
  } finally {
    reporter.close();
  }
  const [ckpt, t5] = repos as [PullResult, PullResult];
  const hubFacts = (r: PullResult, files: string[]) => ({
    endpoint: settings.endpoint,
    repo: r.repo,
    revision: r.revision,
    commit: r.commit,
    ...(r.licence ? { licence: r.licence } : {}),
    files,
  });
  if (fresh) {
    err(`${dir} is up to date with these commits (--force rebuilds it)`);
  } else {
    const conv = createReporter(mode, { write: deps.stderr });
    try {
      await convertStableAudioCheckpoint({
        checkpoint: ckpt.files[src.checkpoint.checkpointFile]!,
        config: ckpt.files[src.checkpoint.configFile]!,
        t5: t5.dir,
        out: dir,
        encoder,
        ignoreExtraKeys: !!opts.ignoreExtraKeys,
        source: { hub: hubFacts(ckpt, src.checkpoint.files), t5: hubFacts(t5, src.t5.files) },
        onProgress: (m, f) => conv.message(m, f),
      });
    } finally {
      conv.close();
    }
  }
  if (precision !== 'fp32') {
    // The preset's int8 files beside the float ones; after a rebuild they are rewritten, else only missing ones.
    const q = createReporter(mode, { write: deps.stderr });
    try {
      await quantizeFolderVariants(dir, precision, { force: !fresh, onProgress: (m, f) => q.message(m, f) });
    } finally {
      q.close();
    }
  }
  const result: PullCliResult = { repos, dir, upToDate: fresh };
  if (opts.json) {
    out(
      JSON.stringify(
        { dir, upToDate: fresh, precision, repos: repos.map((r) => ({ ...r, files: r.files })) },
        null,
        2,
      ),
    );
  } else {
    out(`ready: ${dir}`);
    out(
      `next:  ${cliName()} generate "warm ambient pads with soft piano" --models ${quote(opts.out ?? join('models', name))}`,
    );
  }
  return result;
}

async function pullRepo(
  repo: string,
  files: string[],
  opts: PullCliOptions,
  deps: PullCliDeps,
  out: (t: string) => void,
  err: (t: string) => void,
): Promise<PullCliResult> {
  for (const [flag, v] of [
    ['--out', opts.out],
    ['--precision', opts.precision],
    ['--t5-revision', opts.t5Revision],
  ] as const) {
    if (v !== undefined) {
      throw new AudiogenError(
        'INVALID_ARGUMENT',
        `${flag} applies to known models (e.g. stable-audio-open-small), not to ${repo}`,
      );
    }
  }
  const plan = await planPull({
    repo,
    ...(files.length ? { files } : {}),
    ...(opts.revision ? { revision: opts.revision } : {}),
    ...(opts.offline ? { offline: true } : {}),
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  });
  err(describeRepo(plan));
  const mode = progressMode(opts);
  const reporter = createReporter(mode, { write: deps.stderr });
  let r: PullResult;
  try {
    r = await runPull(plan, {
      onEvent: downloadProgress(reporter, mode, mode === 'none' ? () => {} : err),
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
    });
  } finally {
    reporter.close();
  }
  if (opts.json) out(JSON.stringify(r, null, 2));
  else {
    out(r.dir);
    for (const f of Object.keys(r.files)) out(`  ${f}`);
  }
  return { repos: [r] };
}

/** Runs `audiogen pull`. */
export async function runPullCommand(
  source: string,
  files: string[],
  opts: PullCliOptions,
  deps: PullCliDeps = {},
): Promise<PullCliResult> {
  const out = deps.stdout ?? ((t: string) => process.stdout.write(`${t}\n`));
  const err = deps.stderr ?? ((t: string) => process.stderr.write(`${t}\n`));
  hubSettings(opts.offline ? { offline: true } : {}); // HF_ENDPOINT / token checked before anything else
  const known = HUB_SOURCES[source];
  if (known) {
    if (files.length) {
      throw new AudiogenError(
        'INVALID_ARGUMENT',
        `${source} fetches a fixed set of files; give no file names`,
      );
    }
    return pullModel(source, known, opts, deps, out, err);
  }
  if (!source.includes('/')) {
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `unknown model "${source}": known models are ${Object.keys(HUB_SOURCES).join(', ')}; for any Hub repository give org/name [files…]`,
    );
  }
  return pullRepo(source, files, opts, deps, out, err);
}

export function registerPull(program: Command): void {
  program
    .command('pull')
    .description(
      'Download a model from the Hugging Face Hub into the shared HF cache and make a ready model folder (stable-audio-open-small), or fetch files of any repository (org/name [files…])',
    )
    .argument(
      '<model>',
      `a known model (${Object.keys(HUB_SOURCES).join(', ')}) or a Hub repository org/name`,
    )
    .argument('[files...]', 'with org/name: the files to fetch (default: all)')
    .option('-o, --out <dir>', 'model folder to write (default: models/<model>)')
    .option('--revision <rev>', 'branch, tag or commit of the repository (default: main)')
    .option('--t5-revision <rev>', 'branch, tag or commit of the T5 repository (default: main)')
    .option(
      '--precision <p>',
      'auto (default): float models + the int8 DiT beside them; fast: + the int8 decoder; fp32: float only (generate --precision picks among them)',
    )
    .option('--offline', 'use the cache only, no network (as HF_HUB_OFFLINE=1)', false)
    .option('--force', 'rebuild the model folder even if it matches the pulled commits', false)
    .option('--ignore-extra-keys', 'do not fail on checkpoint keys no model uses', false)
    .option('--no-encoder', 'skip the VAE encoder (audio-to-audio)')
    .option('--no-progress', 'no progress bars or lines')
    .option('-q, --quiet', 'no progress', false)
    .option('--json', 'print the result as JSON', false)
    .addHelpText(
      'after',
      `
Gated models (stable-audio-open-small): accept the licence on the model page first
(https://huggingface.co/stabilityai/stable-audio-open-small), then set HF_TOKEN to a read token
(https://huggingface.co/settings/tokens) or log in once with \`hf auth login\`.
Environment: HF_TOKEN, HF_HOME / HF_HUB_CACHE (the cache shared with Python), HF_ENDPOINT, HF_HUB_OFFLINE=1.
A cut or interrupted download resumes where it stopped when run again.`,
    )
    .action(async (model: string, files: string[], opts: PullCliOptions) => {
      await runPullCommand(model, files, opts);
    });
}
