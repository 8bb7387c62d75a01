#!/usr/bin/env python3
"""Name the hot XNNPACK kernels of a `perf record` on the stripped x64 libLiteRt.so by their instructions.

Dev-time only (stdlib + perf + objdump). The prebuilt library has no symbols, so perf shows raw addresses;
they are file offsets, and the library's executable segment maps at offset + (vaddr - offset) (0x1000 for
LiteRT 2.3.0, read from the program headers here). Samples are grouped into address clusters, each cluster is
disassembled and labelled by its vector instructions (int8 VNNI GEMM, fp32 GEMM, elementwise ADD/MUL, SIN,
activation quantization, ...). The labels are heuristics: read the instruction counts printed beside them.

  perf record -F 499 -g -o dec.data -- node my-decode.mjs
  python3 scripts/perf_kernels.py dec.data path/to/libLiteRt.so [--time 25%-100%] [--top 16]
"""

import argparse
import bisect
import re
import subprocess
from collections import Counter


def sh(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def text_shift(lib):
    """vaddr - file offset of the executable LOAD segment."""
    for line in sh(['readelf', '-lW', lib]).splitlines():
        f = line.split()
        if f and f[0] == 'LOAD' and 'E' in f[6:-1]:
            return int(f[2], 16) - int(f[1], 16)
    return 0


def label(ops):
    has = lambda *names: all(ops.get(n, 0) for n in names)  # noqa: E731
    if has('vpdpbusd'):
        return 'int8 GEMM/IGEMM (VNNI)'
    if has('vdpbf16ps'):
        return 'bf16 GEMM'
    if has('vrndscaleps'):
        return 'SIN (range reduction + polynomial)'
    if has('vcvtps2dq') and (has('vpackuswb') or has('vpacksswb')):
        return 'quantize f32 -> int8 (convert)'
    if has('vfmadd231ps', 'vminps', 'vmaxps') and ops.get('vbroadcastss', 0):
        return 'fp32 GEMM/IGEMM'
    if has('vminps', 'vmaxps'):
        return 'row min/max (quantization params)'
    if has('vpermt2ps') or has('vshuff64x2') or has('vunpcklps'):
        return 'transpose / shuffle'
    vec = {k: v for k, v in ops.items() if k.startswith('v') and not k.startswith('vmov') and k != 'vzeroupper'}
    if len(vec) == 1:
        return f'elementwise {next(iter(vec))}'
    return '?'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('data')
    ap.add_argument('lib')
    ap.add_argument('--time', default=None, help="perf report --time range, e.g. 25%%-100%% to skip the load")
    ap.add_argument('--top', type=int, default=16)
    ap.add_argument('--gap', type=int, default=512, help='bytes between samples that start a new cluster')
    a = ap.parse_args()

    cmd = ['perf', 'report', '-i', a.data, '--no-children', '--sort', 'dso,symbol', '--stdio', '-g', 'none']
    if a.time:
        cmd += ['--time', a.time]
    by_dso = Counter()
    samples = []
    shift = text_shift(a.lib)
    for line in sh(cmd).splitlines():
        m = re.match(r'\s*([\d.]+)%\s+(\S+)\s+\[\.\]\s+(0x[0-9a-f]+)', line)
        m2 = re.match(r'\s*([\d.]+)%\s+(\S+)\s', line)
        if m2:
            by_dso[m2.group(2)] += float(m2.group(1))
        if m and m.group(2) == 'libLiteRt.so':
            samples.append((int(m.group(3), 16) + shift, float(m.group(1))))
    print('by library:', ', '.join(f'{k} {v:.1f}%' for k, v in by_dso.most_common(6)))
    if not samples:
        return
    samples.sort()
    clusters, cur = [], [samples[0]]
    for s in samples[1:]:
        if s[0] - cur[-1][0] > a.gap:
            clusters.append(cur)
            cur = [s]
        else:
            cur.append(s)
    clusters.append(cur)
    clusters.sort(key=lambda c: -sum(x[1] for x in c))

    addrs, ins = [], []
    for line in sh(['objdump', '-d', '--no-show-raw-insn', a.lib]).splitlines():
        m = re.match(r'\s+([0-9a-f]+):\s+(\S+)', line)
        if m:
            addrs.append(int(m.group(1), 16))
            ins.append(m.group(2))
    totals = Counter()
    for c in clusters[: a.top]:
        lo, hi = c[0][0], c[-1][0]
        ops = Counter(ins[bisect.bisect_left(addrs, lo) : bisect.bisect_right(addrs, hi) + 1])
        share = sum(x[1] for x in c)
        name = label(ops)
        totals[name] += share
        top = ','.join(f'{k}:{v}' for k, v in ops.most_common(8) if k.startswith('v'))
        print(f'{share:6.2f}%  {lo:#x}-{hi:#x}  {name:36s} {top}')
    print('\nby kernel class (top clusters):')
    for k, v in totals.most_common():
        print(f'{v:6.2f}%  {k}')


if __name__ == '__main__':
    main()
