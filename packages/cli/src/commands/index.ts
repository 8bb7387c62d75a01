import type { Command } from 'commander';
import { registerBench } from './bench';
import { registerConvert } from './convert';
import { registerDoctor } from './doctor';
import { registerGenerate } from './generate';
import { registerInspect } from './inspect';
import { registerPull } from './pull';
import { registerQuantize } from './quantize';
import { registerRun } from './run';
import { registerSamplers } from './samplers';

/** Each command lives in its own file and registers itself on the program. */
export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [
  registerGenerate,
  registerPull,
  registerInspect,
  registerDoctor,
  registerRun,
  registerConvert,
  registerQuantize,
  registerSamplers,
  registerBench,
];
