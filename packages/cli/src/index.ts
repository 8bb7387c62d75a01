import { AudiogenError, installOutputSignalHandlers } from '@audiogen/core';
import { Command, CommanderError } from 'commander';
import { commands } from './commands';

export function createProgram(): Command {
  const program = new Command('audiogen')
    .description('On-device text-to-audio on the official LiteRT runtime')
    .version('0.0.0')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)');
  for (const register of commands) register(program);
  return program;
}

/** Runs the CLI; returns the process exit code. Typed errors print their code and message, not a stack. */
export async function main(argv: string[]): Promise<number> {
  const program = createProgram();
  // The CLI owns the process: a signal removes the temp files of writes in flight before it ends us.
  const uninstall = installOutputSignalHandlers();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    if (e instanceof AudiogenError) {
      console.error(`audiogen: ${e.code}: ${e.message}`);
      return e.code === 'ABORTED' ? 130 : 1;
    }
    throw e;
  } finally {
    uninstall();
  }
}
