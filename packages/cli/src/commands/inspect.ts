import { formatInspection, inspectTfliteFile, type TfliteInspection } from '@audiogen/core/tflite';
import type { Command } from 'commander';

export interface InspectDeps {
  stdout?: (text: string) => void;
}

/** Runs `audiogen inspect`: verifies the file (without loading its weights) and reports on it. */
export function runInspect(file: string, opts: { json?: boolean }, deps: InspectDeps = {}): TfliteInspection {
  const out = deps.stdout ?? ((t: string) => process.stdout.write(`${t}\n`));
  const ins = inspectTfliteFile(file);
  out(opts.json ? JSON.stringify(ins, null, 2) : `${file}\n${formatInspection(ins)}`);
  return ins;
}

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description(
      'Verify a .tflite model and show its ops, tensor types, parameters, inputs/outputs and signatures',
    )
    .argument('<file.tflite>', 'model file')
    .option('--json', 'print the report as JSON', false)
    .action((file: string, opts: { json?: boolean }) => {
      runInspect(file, opts);
    });
}
