#!/usr/bin/env node
// Dev-time: the Snake kernels (native/snake.h) on their own, without LiteRT: builds native/snake_bench.cc with
// the host's C++ compiler (CXX, default g++) into build/ and runs it. Prints ns per value for snake(x) and
// snake(a + b) on 1 and 2 threads, at an L2-sized and a decoder-sized activation (128 channels).
//   node scripts/snake-bench.mjs [C] [rows,rows,...]
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const build = join(here, '..', 'build');
mkdirSync(build, { recursive: true });
const exe = join(build, 'snake_bench');
execFileSync(
  process.env.CXX || 'g++',
  [
    '-O2',
    '-std=c++17',
    '-pthread',
    `-I${join(here, '..', 'native')}`,
    join(here, '..', 'native', 'snake_bench.cc'),
    '-o',
    exe,
  ],
  { stdio: 'inherit' },
);
execFileSync(exe, process.argv.slice(2), { stdio: 'inherit' });
