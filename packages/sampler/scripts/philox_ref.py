#!/usr/bin/env python3
"""Independent reference of the audiogen noise stream (README "The RNG specification"), written from
the spec in plain Python (IEEE double floats, no numpy). Prints the float32 bits of the first COUNT
normals of stream (SEED, STREAM_ID) as hex, one per line.

usage: philox_ref.py SEED STREAM_ID COUNT
"""
import math
import struct
import sys

MASK = 0xFFFFFFFF


def philox4x32_10(ctr, key):
    x0, x1, x2, x3 = ctr
    k0, k1 = key
    for r in range(10):
        if r:
            k0 = (k0 + 0x9E3779B9) & MASK
            k1 = (k1 + 0xBB67AE85) & MASK
        p0 = 0xD2511F53 * x0
        p1 = 0xCD9E8D57 * x2
        x0, x1, x2, x3 = ((p1 >> 32) ^ x1 ^ k0) & MASK, p1 & MASK, ((p0 >> 32) ^ x3 ^ k1) & MASK, p0 & MASK
    return x0, x1, x2, x3


def fact(n):
    return float(math.factorial(n))


ATANH = [1.0 / (2 * j + 1) for j in range(12)]
SIN = [(-1.0 if j % 2 else 1.0) / fact(2 * j + 1) for j in range(1, 9)]
COS = [(-1.0 if j % 2 else 1.0) / fact(2 * j) for j in range(1, 10)]
LN2 = float.fromhex('0x1.62e42fefa39efp-1')
SQRT2 = float.fromhex('0x1.6a09e667f3bcdp+0')
PI_2_31 = math.pi / 2147483648.0


def det_log(x):
    m, e = math.frexp(x)  # x = m * 2^e, 0.5 <= m < 1 (exact)
    m, k = m * 2.0, e - 1
    if m > SQRT2:
        m, k = m / 2.0, k + 1
    s = (m - 1.0) / (m + 1.0)
    z = s * s
    p = ATANH[11]
    for j in range(10, -1, -1):
        p = ATANH[j] + z * p
    return k * LN2 + (2.0 * s) * p


def cos_sin_turn(b):
    q = (((b + 0x20000000) & MASK) >> 30) & 3
    d = (b - q * 0x40000000) & MASK
    if d >= 0x80000000:
        d -= 0x100000000
    phi = d * PI_2_31
    z = phi * phi
    s = SIN[7]
    for j in range(6, -1, -1):
        s = SIN[j] + z * s
    sp = phi + (phi * z) * s
    c = COS[8]
    for j in range(7, -1, -1):
        c = COS[j] + z * c
    cp = 1.0 + z * c
    return [(cp, sp), (-sp, cp), (-cp, -sp), (sp, -cp)][q]


def box_muller(a, b):
    u = (a + 0.5) * 2.0 ** -32
    r = math.sqrt(-2.0 * det_log(u))
    c, s = cos_sin_turn(b)
    return r * c, r * s


def f32_bits(x):
    return struct.unpack('<I', struct.pack('<f', x))[0]


def main():
    seed, stream, count = (int(a) for a in sys.argv[1:4])
    out = []
    j = 0
    while len(out) < count:
        w = philox4x32_10((j & MASK, j >> 32, 0, 0), (seed, stream))
        out.extend(box_muller(w[0], w[1]))
        out.extend(box_muller(w[2], w[3]))
        j += 1
    print('\n'.join('%08x' % f32_bits(v) for v in out[:count]))


if __name__ == '__main__':
    main()
