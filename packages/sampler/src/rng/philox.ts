/**
 * Philox4x32-10 (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as easy as 1, 2, 3", SC'11;
 * the Random123 library) and the audiogen normal transform built on it.
 *
 * Everything here uses only 32-bit integer arithmetic and IEEE-754 double +, −, ×, ÷ and sqrt
 * (all correctly rounded), evaluated in a fixed order, so any language reproduces the output bit
 * for bit. See README.md "The RNG specification".
 */

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two uint32. */
function mulhi32(a: number, b: number): number {
  const al = a & 0xffff;
  const ah = a >>> 16;
  const bl = b & 0xffff;
  const bh = b >>> 16;
  const ll = al * bl;
  const lh = al * bh;
  const hl = ah * bl;
  const hh = ah * bh;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (hh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
}

/**
 * One Philox4x32 block: `rounds` rounds (10 for Philox4x32-10) on counter c[0..3] with key k[0..1].
 * Writes four uint32 words into out[offset..offset+3].
 */
export function philox4x32(
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  k0: number,
  k1: number,
  out: Uint32Array,
  offset = 0,
  rounds = 10,
): void {
  let x0 = c0 >>> 0;
  let x1 = c1 >>> 0;
  let x2 = c2 >>> 0;
  let x3 = c3 >>> 0;
  let key0 = k0 >>> 0;
  let key1 = k1 >>> 0;
  for (let r = 0; r < rounds; r++) {
    if (r > 0) {
      key0 = (key0 + W0) >>> 0;
      key1 = (key1 + W1) >>> 0;
    }
    const hi0 = mulhi32(M0, x0);
    const lo0 = Math.imul(M0, x0) >>> 0;
    const hi1 = mulhi32(M1, x2);
    const lo1 = Math.imul(M1, x2) >>> 0;
    x0 = (hi1 ^ x1 ^ key0) >>> 0;
    x1 = lo1;
    x2 = (hi0 ^ x3 ^ key1) >>> 0;
    x3 = lo0;
  }
  out[offset] = x0;
  out[offset + 1] = x1;
  out[offset + 2] = x2;
  out[offset + 3] = x3;
}

// ------------------------------------------------------------------ deterministic math

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const HI = LITTLE ? 1 : 0;

/** 1/(2j+1), j = 0..11, each the double nearest to the exact fraction. */
const ATANH_C = Array.from({ length: 12 }, (_, j) => 1 / (2 * j + 1));

/**
 * Natural log of a positive, normal double x with a fixed operation sequence:
 *   x = m·2^k exactly (1 ≤ m < 2, from the IEEE exponent field); if m > √2 then m = m/2, k = k+1;
 *   s = (m − 1)/(m + 1); z = s·s;
 *   P = c11; P = c_j + z·P for j = 10..0 (c_j = RN(1/(2j+1)));
 *   ln x = k·LN2 + (2·s)·P, LN2 = 0x3FE62E42FEFA39EF.
 * Absolute error < 1e-15 on (0, 1]; the point is reproducibility, not the last ulp.
 */
export function detLog(x: number): number {
  F64[0] = x;
  const hi = U32[HI]!;
  const k = ((hi >>> 20) & 0x7ff) - 1023;
  U32[HI] = (hi & 0x800fffff) | 0x3ff00000; // mantissa with exponent 0 → m in [1, 2)
  let m = F64[0];
  let e = k;
  if (m > Math.SQRT2) {
    m = m / 2;
    e = e + 1;
  }
  const s = (m - 1) / (m + 1);
  const z = s * s;
  let p = ATANH_C[11]!;
  for (let j = 10; j >= 0; j--) p = ATANH_C[j]! + z * p;
  return e * Math.LN2 + 2 * s * p;
}

// (-1)^j / (2j+1)! for j = 1..8 and (-1)^j / (2j)! for j = 1..9; n! is exact in double for n ≤ 18.
function factorial(n: number): number {
  let f = 1;
  for (let i = 2; i <= n; i++) f *= i;
  return f;
}
const SIN_C = Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? -1 : 1) / factorial(2 * (i + 1) + 1));
const COS_C = Array.from({ length: 9 }, (_, i) => (i % 2 === 0 ? -1 : 1) / factorial(2 * (i + 1)));
/** π / 2^31 (Math.PI scaled by a power of two, exact). */
const PI_OVER_2_31 = Math.PI / 2147483648;

const SINCOS = new Float64Array(2);

/**
 * cos and sin of 2π·b/2^32 for a uint32 b, into SINCOS[0], SINCOS[1]:
 *   q = ((b + 2^29) mod 2^32) >> 30 (nearest quadrant), d = int32(b − q·2^30) ∈ [−2^29, 2^29),
 *   φ = d·(π/2^31) ∈ [−π/4, π/4), z = φ·φ,
 *   S = s8; S = s_j + z·S (j = 7..1); sinφ = φ + (φ·z)·S
 *   C = c9; C = c_j + z·C (j = 8..1); cosφ = 1 + z·C
 *   quadrant q: (cos, sin) = q0 (cφ, sφ), q1 (−sφ, cφ), q2 (−cφ, −sφ), q3 (sφ, −cφ).
 */
function sinCosTurn(b: number): void {
  const q = (((b + 0x20000000) >>> 0) >>> 30) & 3;
  const d = (b - q * 0x40000000) | 0;
  const phi = d * PI_OVER_2_31;
  const z = phi * phi;
  let s = SIN_C[7]!;
  for (let j = 6; j >= 0; j--) s = SIN_C[j]! + z * s;
  const sinp = phi + phi * z * s;
  let c = COS_C[8]!;
  for (let j = 7; j >= 0; j--) c = COS_C[j]! + z * c;
  const cosp = 1 + z * c;
  switch (q) {
    case 0:
      SINCOS[0] = cosp;
      SINCOS[1] = sinp;
      break;
    case 1:
      SINCOS[0] = -sinp;
      SINCOS[1] = cosp;
      break;
    case 2:
      SINCOS[0] = -cosp;
      SINCOS[1] = -sinp;
      break;
    default:
      SINCOS[0] = sinp;
      SINCOS[1] = -cosp;
  }
}

/** Exposed for tests: [cos, sin] of 2π·b/2^32. */
export function detCosSinTurn(b: number): [number, number] {
  sinCosTurn(b >>> 0);
  return [SINCOS[0]!, SINCOS[1]!];
}

const TWO_POW_M32 = 2 ** -32;

/**
 * Box–Muller on two uint32 words (a, b) → two float64 normals written to out[0], out[1]:
 *   u = (a + 0.5)·2^−32 ∈ (0, 1);  r = sqrt(−2·detLog(u));  (c, s) = sinCosTurn(b);
 *   out = (r·c, r·s).
 */
export function boxMuller(a: number, b: number, out: Float64Array): void {
  const u = (a + 0.5) * TWO_POW_M32;
  const r = Math.sqrt(-2 * detLog(u));
  sinCosTurn(b);
  out[0] = r * SINCOS[0]!;
  out[1] = r * SINCOS[1]!;
}

/**
 * A Philox4x32-10 normal stream: normal n (n = 0, 1, 2, …) comes from block j = floor(n/4) with
 * counter (j mod 2^32, floor(j/2^32), 0, 0) and key (seed, streamId). The block's words (w0..w3) give
 * normals 4j, 4j+1 = BoxMuller(w0, w1) and 4j+2, 4j+3 = BoxMuller(w2, w3), each rounded to float32.
 * fillNormal continues where the previous call stopped, so two fills of n equal one fill of 2n.
 */
export class PhiloxNormalStream {
  private block = 0;
  private readonly buf = new Float32Array(4);
  private pos = 4;
  private readonly words = new Uint32Array(4);
  private readonly pair = new Float64Array(2);

  constructor(
    readonly key0: number,
    readonly key1: number,
  ) {}

  private refill(): void {
    const j = this.block++;
    philox4x32(j >>> 0, Math.floor(j / 4294967296) >>> 0, 0, 0, this.key0, this.key1, this.words);
    boxMuller(this.words[0]!, this.words[1]!, this.pair);
    this.buf[0] = this.pair[0]!;
    this.buf[1] = this.pair[1]!;
    boxMuller(this.words[2]!, this.words[3]!, this.pair);
    this.buf[2] = this.pair[0]!;
    this.buf[3] = this.pair[1]!;
    this.pos = 0;
  }

  fillNormal(out: Float32Array): void {
    const n = out.length;
    let i = 0;
    while (i < n) {
      if (this.pos === 4) this.refill();
      out[i++] = this.buf[this.pos++]!;
    }
  }
}
