#!/usr/bin/env node
// Paired latency comparison for busy machines: one node process (this package) and one Python process
// (official ai-edge-litert) load the same model, then alternate single timed runs N, P, N, P, ... so both
// see the same machine load; reports the median of the per-pair ratios node/python.
//   node scripts/bench-paired.mjs <model.tflite> <threads> <pairs>
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const py = join(resolve(here, '..', '..', '..'), '.venv', 'bin', 'python');

function server(cmd, args) {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'ignore'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => JSON.parse((await lines.next()).value);
  return { child, next, send: (l) => child.stdin.write(`${l}\n`) };
}

/** cbench: optional path of the compiled native/bench_c.cc (a third, plain C++ runner). */
export async function paired(file, threads, pairs, cbench) {
  const n = server(process.execPath, [join(here, 'bench-one.mjs'), file, String(threads), '0', '--serve']);
  const p = server(py, [join(here, 'py_bench.py'), file, String(threads), '0', '--serve']);
  const c = cbench ? server(cbench, [file, String(threads)]) : undefined;
  const [nr, pr] = [await n.next(), await p.next()];
  if (c) await c.next();
  const nt = [];
  const pt = [];
  const ct = [];
  // process CPU time per run: less sensitive than wall time to other jobs on a shared machine
  const ncpu = [];
  const pcpu = [];
  const ccpu = [];
  const all = c ? [n, p, c] : [n, p];
  for (let i = 0; i < pairs; i++) {
    // rotate which goes first
    const order = all.map((_, k) => all[(k + i) % all.length]);
    for (const s of order) {
      s.send('run');
      const { ms, cpu_ms } = await s.next();
      (s === n ? nt : s === p ? pt : ct).push(ms);
      (s === n ? ncpu : s === p ? pcpu : ccpu).push(cpu_ms);
    }
  }
  for (const s of all) s.send('stop');
  const [nEnd, pEnd] = [await n.next(), await p.next()];
  if (c) await c.next();
  const med = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  };
  return {
    node_median_ms: med(nt),
    python_median_ms: med(pt),
    node_min_ms: Math.min(...nt),
    python_min_ms: Math.min(...pt),
    pair_ratio_median: med(nt.map((v, i) => v / pt[i])),
    cpu_pair_ratio_median: med(ncpu.map((v, i) => v / pcpu[i])),
    ...(c
      ? {
          cpp_median_ms: med(ct),
          cpp_pair_ratio_median: med(ct.map((v, i) => v / pt[i])),
          node_to_cpp_ratio_median: med(nt.map((v, i) => v / ct[i])),
          cpu_node_to_cpp_ratio_median: med(ncpu.map((v, i) => v / ccpu[i])),
        }
      : {}),
    node_load_ms: nr.load_ms,
    python_load_ms: pr.load_ms,
    node_peak_rss_mb: nEnd.peak_rss_mb,
    python_peak_rss_mb: pEnd.peak_rss_mb,
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [file, threads, pairs] = process.argv.slice(2);
  console.log(JSON.stringify(await paired(file, Number(threads), Number(pairs ?? 10))));
}
