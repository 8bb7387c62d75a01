/**
 * Single-precision fused multiply-add: the float32 nearest to a·b + c (ties to even), for float32
 * inputs, as an FMA instruction computes it (aarch64 fmadd/fmsub, x86 vfmadd…ss).
 * a·b is exact in binary64; the sum is rounded once in binary64 and corrected with its exact error
 * (TwoSum) when it lands exactly on a float32 rounding midpoint, the only case where rounding twice
 * can differ from rounding once.
 */
export function fmaf(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const r = Math.fround(s);
  if (r === s || !Number.isFinite(s)) return r;
  const bb = s - p;
  const e = p - (s - bb) + (c - bb);
  if (e === 0) return r;
  const other = 2 * s - r;
  if (Math.fround(other) !== other) return r; // s is not a midpoint
  return e > 0 ? Math.max(r, other) : Math.min(r, other);
}
