// Cross-check of the verifier against the official LiteRT runtime (a script, not part of CI:
// `npm run fuzz:litert -w @audiogen/core`). Mutated files that our verifier accepts are loaded and
// run by LiteRT (each in a forked child); we report how many LiteRT refuses or crashes on. A
// sample of the files we reject is run too, to measure how much stricter we are.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AudiogenError } from '../errors';
import { MUTATIONS, mutate, rng } from './fuzz';
import { verifyTflite } from './read';
import { FIXTURES, PYTHON } from './testing';

const N = Number(process.env.FUZZ_LITERT ?? 0);
const LOADER = fileURLToPath(new URL('../../scripts/litert_load_many.py', import.meta.url));

describe.skipIf(!N)('verifier vs LiteRT on mutated files', () => {
  it(`${N} mutants`, () => {
    const corpus = ['mlp', 'conv1d', 'attention', 'attention_int8', 'attention_int4_block32'].map(
      (n) => new Uint8Array(readFileSync(join(FIXTURES, `${n}.tflite`))),
    );
    const dir = mkdtempSync(join(tmpdir(), 'audiogen-fuzz-litert-'));
    const r = rng(Number(process.env.FUZZ_SEED ?? 11));
    const verdict: Record<string, 'accepted' | 'rejected'> = {};
    try {
      let rejectedKept = 0;
      for (let i = 0; i < N; i++) {
        const kind = MUTATIONS[i % MUTATIONS.length]!;
        const b = mutate(corpus[i % corpus.length]!, kind, r);
        let ok = true;
        try {
          verifyTflite(b);
        } catch (e) {
          if (!(e instanceof AudiogenError)) throw e;
          ok = false;
        }
        if (!ok && rejectedKept++ % 4 !== 0) continue; // run a quarter of the rejected ones
        const name = `${String(i).padStart(6, '0')}-${kind}.tflite`;
        writeFileSync(join(dir, name), b);
        verdict[name] = ok ? 'accepted' : 'rejected';
      }
      const res = JSON.parse(
        execFileSync(PYTHON, [LOADER, dir], { maxBuffer: 1 << 26 }).toString(),
      ) as Record<string, string>;
      const table: Record<string, Record<string, number>> = { accepted: {}, rejected: {} };
      const crashes: string[] = [];
      for (const [name, outcome] of Object.entries(res)) {
        const v = verdict[name]!;
        const k = outcome.startsWith('crash') ? outcome : outcome;
        table[v]![k] = (table[v]![k] ?? 0) + 1;
        if (v === 'accepted' && outcome !== 'ok' && outcome !== 'error') crashes.push(`${name}: ${outcome}`);
      }
      console.log(
        JSON.stringify({ mutants: N, litert: table, acceptedButCrashed: crashes.slice(0, 20) }, null, 1),
      );
      expect(Object.keys(res).length).toBe(Object.keys(verdict).length);
    } finally {
      if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true });
    }
  });
});
