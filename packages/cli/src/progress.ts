import type { ProgressEvent } from '@audiogen/core';
import cliProgress from 'cli-progress';

/**
 * One progress style for every long command: bars on a terminal, otherwise one line per stage or step with
 * the percentage and times (`[  12.3s]  38% denoise 1/2 step 3/8 · 1075 ms/step`), nothing with `--quiet`.
 * Everything goes to stderr; stdout is left for results (and `--json`).
 */
export type ProgressMode = 'bars' | 'lines' | 'none';

export interface ProgressFlags {
  /** --quiet: no progress at all. */
  quiet?: boolean;
  /** --no-progress (commander sets false). */
  progress?: boolean;
  /** --json: stdout is for machines; progress stays off unless lines are forced (AUDIOGEN_PROGRESS=lines). */
  json?: boolean;
}

/** Picks the mode: none when asked (or under --json), bars on a TTY, lines otherwise. */
export function progressMode(
  flags: ProgressFlags,
  stream: { isTTY?: boolean } = process.stderr,
): ProgressMode {
  const forced = process.env.AUDIOGEN_PROGRESS;
  if (flags.quiet || flags.progress === false) return 'none';
  if (forced === 'lines' || forced === 'bars' || forced === 'none') return forced;
  if (flags.json) return 'none';
  return stream.isTTY ? 'bars' : 'lines';
}

export interface Reporter {
  readonly mode: ProgressMode;
  /** A new stage; `total` > 1 for a stage of steps (a bar, or a line per step). */
  begin(stage: string, total?: number): void;
  /** `value` of the stage's total done; `note` e.g. the time per step. */
  update(value: number, note?: string): void;
  /** The stage is finished (`note`, e.g. its time). */
  end(note?: string): void;
  /**
   * Text progress from a library (`"dit: block 3/12"`, fraction of the whole task): the text before a colon
   * names the stage; lines mode prints a stage's first message and then one per 10%.
   */
  message(text: string, fraction?: number): void;
  close(): void;
}

export interface ReporterOptions {
  /** Where lines go (default: process.stderr). */
  write?: (line: string) => void;
  stream?: NodeJS.WritableStream;
  now?: () => number;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`.padStart(7);
const pct = (f: number) => `${Math.floor(Math.min(1, Math.max(0, f)) * 100)}%`.padStart(4);

export function createReporter(mode: ProgressMode, options: ReporterOptions = {}): Reporter {
  const now = options.now ?? (() => performance.now());
  const t0 = now();
  if (mode === 'none') {
    const nop = () => {};
    return { mode, begin: nop, update: nop, end: nop, message: nop, close: nop };
  }
  if (mode === 'lines') {
    const write = options.write ?? ((l: string) => process.stderr.write(`${l}\n`));
    let stage = '';
    let total = 1;
    let started = t0;
    let msgStage: string | undefined;
    let msgBucket = -1;
    const line = (f: number | undefined, text: string) =>
      write(`[${secs(now() - t0)}]${f === undefined ? '     ' : ` ${pct(f)}`} ${text}`);
    return {
      mode,
      begin(name, n = 1) {
        stage = name;
        total = n;
        started = now();
        if (n <= 1) line(0, `${name} …`);
      },
      update(value, note) {
        line(value / total, `${stage} ${total > 1 ? `${value}/${total}` : ''}${note ? ` · ${note}` : ''}`);
      },
      end(note) {
        if (total <= 1)
          line(1, `${stage} done${note ? ` · ${note}` : ` · ${((now() - started) / 1000).toFixed(1)} s`}`);
      },
      message(text, fraction) {
        const name = /^([^:]{1,40}):/.exec(text)?.[1] ?? '';
        const bucket = fraction === undefined ? -1 : Math.floor(fraction * 10);
        if (name === msgStage && fraction !== undefined && bucket === msgBucket && fraction < 1) return;
        msgStage = name;
        msgBucket = bucket;
        line(fraction, text);
      },
      close() {},
    };
  }
  const bars = new cliProgress.MultiBar(
    {
      format: ' {stage} |{bar}| {percentage}% {info}',
      hideCursor: true,
      clearOnComplete: false,
      stream: options.stream ?? process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  let bar: cliProgress.SingleBar | undefined;
  let msgStage: string | undefined;
  const open = (name: string, total: number) => {
    bar?.stop();
    bar = bars.create(total, 0, { stage: name.slice(0, 24).padEnd(24), info: '' });
  };
  return {
    mode,
    begin(name, n = 1) {
      open(name, n);
    },
    update(value, note) {
      bar?.update(value, { info: note ?? '' });
    },
    end(note) {
      bar?.update(bar.getTotal(), note === undefined ? {} : { info: note });
      bar?.stop();
      bar = undefined;
    },
    message(text, fraction) {
      const name = /^([^:]{1,40}):/.exec(text)?.[1] ?? 'progress';
      if (name !== msgStage || !bar) {
        msgStage = name;
        open(name, 100);
      }
      bar?.update(Math.round((fraction ?? 0) * 100), {
        info: text
          .slice(name.length + 1)
          .trim()
          .slice(0, 50),
      });
    },
    close() {
      bar?.stop();
      bars.stop();
    },
  };
}

/** Generation events (load, encode, step, decode) on a reporter. */
export function generationProgress(r: Reporter, variations: number): (e: ProgressEvent) => void {
  const ms = (v: number | undefined) => `${(v ?? 0).toFixed(0)} ms`;
  return (e) => {
    switch (e.type) {
      case 'load':
        if (!e.done) r.begin(`load ${e.model}`);
        else r.end(ms(e.ms));
        break;
      case 'encode':
        if (!e.done) r.begin('encode');
        else r.end(ms(e.ms));
        break;
      case 'step':
        if (e.step === 0)
          r.begin(variations > 1 ? `denoise ${e.variation + 1}/${variations}` : 'denoise', e.steps);
        r.update(e.step + 1, `${ms(e.ms)}/step`);
        if (e.step + 1 === e.steps) r.end();
        break;
      case 'decode':
        if (!e.done) r.begin(variations > 1 ? `decode ${e.variation + 1}/${variations}` : 'decode');
        else r.end(ms(e.ms));
        break;
      case 'done':
        break;
    }
  };
}
