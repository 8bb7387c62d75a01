import { AudiogenError, installOutputSignalHandlers, isAudiogenError } from '@audiogen/core';
import { Command, CommanderError } from 'commander';
import { commands } from './commands';
import { VERSION } from './version';

export function createProgram(): Command {
  const program = new Command('audiogen')
    .description('On-device text-to-audio on the official LiteRT runtime')
    .version(VERSION)
    .exitOverride()
    .showHelpAfterError('(add --help for usage)');
  for (const register of commands) register(program);
  return program;
}

export interface MainDeps {
  stdout?: (line: string) => void;
  stderr?: (line: string) => void;
}

/** What an error looks like under --json: one line on stdout. */
export function errorJson(e: AudiogenError): string {
  const details = Object.keys(e.details).length ? { details: e.details } : {};
  return JSON.stringify({ error: { code: e.code, message: e.message, ...details } });
}

/**
 * Runs the CLI; returns the process exit code. Typed errors print `audiogen: CODE: message` on stderr (no
 * stack), or with `--json` one JSON line `{"error":{"code","message"}}` on stdout; usage errors (unknown flag,
 * bad number) are INVALID_ARGUMENT the same way, and anything else INTERNAL. Exit 1 (130 when aborted).
 */
export async function main(argv: string[], deps: MainDeps = {}): Promise<number> {
  const out = deps.stdout ?? ((l: string) => process.stdout.write(`${l}\n`));
  const err = deps.stderr ?? ((l: string) => console.error(l));
  // --json anywhere after the command name: the command's own flag (argv[0..1] are node and the script).
  const json = argv.slice(2).includes('--json');
  const program = createProgram();
  const usage: string[] = [];
  const quietUsage = (p: Command) => {
    p.configureOutput({
      writeErr: (s) => (json ? usage.push(s) : process.stderr.write(s)),
      outputError: (s, write) => write(s),
    });
    for (const c of p.commands) quietUsage(c);
  };
  quietUsage(program);
  // The CLI owns the process: a signal removes the temp files of writes in flight before it ends us.
  const uninstall = installOutputSignalHandlers();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (json && e.exitCode !== 0) {
        const message = e.message.replace(/^error: /, '');
        out(errorJson(new AudiogenError('INVALID_ARGUMENT', message, { details: { usage: e.code } })));
      }
      return e.exitCode;
    }
    if (isAudiogenError(e)) {
      if (json) out(errorJson(e));
      else err(`audiogen: ${e.code}: ${e.message}`);
      return e.code === 'ABORTED' ? 130 : 1;
    }
    if (!json) throw e;
    out(errorJson(new AudiogenError('INTERNAL', e instanceof Error ? e.message : String(e))));
    return 1;
  } finally {
    uninstall();
  }
}
