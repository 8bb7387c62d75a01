/**
 * The Arm-compatible noise: std::mt19937 + libstdc++'s std::normal_distribution<float>, as compiled
 * by g++ on x86-64 and linked with glibc's logf (the algorithm glibc ≥ 2.28 and Arm's
 * optimized-routines share). Reproduces, value for value, what Arm's audiogen sample
 * (kleidiai-examples/audiogen/app/audiogen.cpp) draws on such a host.
 */

const N = 624;
const M = 397;

/** The 32-bit Mersenne Twister (Matsumoto & Nishimura 1998), exactly as std::mt19937. */
export class MT19937 {
  private readonly mt = new Uint32Array(N);
  private mti = N;

  constructor(seed: number) {
    this.seed(seed);
  }

  /** std::mt19937::seed(value): the value is taken modulo 2^32. */
  seed(seed: number): void {
    const mt = this.mt;
    mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      // 1812433253 · prev + i (mod 2^32)
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
    this.mti = N;
  }

  private twist(): void {
    const mt = this.mt;
    for (let k = 0; k < N; k++) {
      const y = (mt[k]! & 0x80000000) | (mt[(k + 1) % N]! & 0x7fffffff);
      let v = mt[(k + M) % N]! ^ (y >>> 1);
      if (y & 1) v ^= 0x9908b0df;
      mt[k] = v >>> 0;
    }
    this.mti = 0;
  }

  /** Next uint32. */
  next(): number {
    if (this.mti >= N) this.twist();
    let y = this.mt[this.mti++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }
}

const NEXT_BELOW_ONE_F32 = 1 - 2 ** -24;
const TWO_POW_M32 = 2 ** -32;

/**
 * libstdc++ std::generate_canonical<float, 24>(mt19937): m = max(1, ceil(24/32)) = 1 draw;
 * ret = float(u) / 2^32 (float(u) rounds to nearest even); if ret ≥ 1 then ret = nextafter(1, 0).
 */
export function generateCanonicalFloat(g: MT19937): number {
  const r = Math.fround(g.next()) * TWO_POW_M32;
  return r >= 1 ? NEXT_BELOW_ONE_F32 : r;
}

// ------------------------------------------------------------------ glibc logf

// __logf_data (invc, logc) from glibc sysdeps/ieee754/flt-32/e_logf_data.c, the hex-float
// constants written as the same doubles in decimal.
const LOGF_T: readonly (readonly [number, number])[] = [
  [1.398907162146528, -0.33569133332882284],
  [1.3403141896637998, -0.2929040563774074],
  [1.286432210124115, -0.2518726580937369],
  [1.2367150214269895, -0.21245868807117255],
  [1.1906977166711752, -0.17453945183745634],
  [1.1479821020556429, -0.1380057072319758],
  [1.1082251448272158, -0.10275976698545139],
  [1.0711297413057381, -0.06871392447020525],
  [1.036437278977283, -0.0357891387398228],
  [1, 0],
  [0.9492859795739057, 0.05204517742929496],
  [0.8951049428609004, 0.11081431298787942],
  [0.8476821620351103, 0.1652495223695143],
  [0.8050314851692001, 0.21687389031699977],
  [0.7664671008843108, 0.2659635028121397],
  [0.731428603316328, 0.3127556664073557],
];
const LOGF_LN2 = Math.LN2; // 0x1.62e42fefa39efp-1
const LOGF_A0 = -0.25089342214237154;
const LOGF_A1 = 0.333456765744066;
const LOGF_A2 = -0.4999997485802103;
const LOGF_OFF = 0x3f330000;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

/** Exact a·b + c rounded once to the nearest double (ties to even): IEEE fusedMultiplyAdd. */
export function fma(a: number, b: number, c: number): number {
  if (!Number.isFinite(a) || !Number.isFinite(b) || !Number.isFinite(c)) return a * b + c;
  if (a === 0 || b === 0) return a * b + c;
  const [ma, ea] = decompose(a);
  const [mb, eb] = decompose(b);
  let mp = ma * mb;
  let ep = ea + eb;
  if (c !== 0) {
    const [mc, ec] = decompose(c);
    if (ec < ep) {
      mp <<= BigInt(ep - ec);
      ep = ec;
      mp += mc;
    } else {
      mp += mc << BigInt(ec - ep);
    }
  }
  if (mp === 0n) return 0;
  return roundToDouble(mp, ep);
}

/** x = m·2^e with integer m (BigInt), for finite nonzero x. */
function decompose(x: number): [bigint, number] {
  f64[0] = x;
  const bits = u64[0]!;
  const neg = bits >> 63n === 1n;
  const expBits = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & 0xfffffffffffffn;
  let e: number;
  if (expBits === 0) {
    e = -1074;
  } else {
    mant |= 1n << 52n;
    e = expBits - 1075;
  }
  return [neg ? -mant : mant, e];
}

function roundToDouble(m: bigint, e: number): number {
  const neg = m < 0n;
  let a = neg ? -m : m;
  const len = a.toString(2).length;
  let shift = len - 53;
  // Keep the result normal-range; subnormal results are out of scope here (never reached by logf).
  if (shift > 0) {
    const sh = BigInt(shift);
    const rem = a & ((1n << sh) - 1n);
    a >>= sh;
    const half = 1n << (sh - 1n);
    if (rem > half || (rem === half && (a & 1n) === 1n)) a += 1n;
  } else {
    shift = 0;
  }
  const v = Number(a) * 2 ** (e + shift);
  return neg ? -v : v;
}

/**
 * glibc's logf (sysdeps/ieee754/flt-32/e_logf.c, also Arm optimized-routines), for positive finite
 * floats. `fused` selects the build where the compiler contracts a·b + c into one fma (glibc's
 * x86-64 FMA/AVX2 variant, aarch64); otherwise every operation rounds separately.
 */
export function glibcLogf(x: number, fused = true): number {
  f32[0] = x;
  let ix = u32[0]!;
  if (ix === 0x3f800000) return 0;
  if (ix - 0x00800000 >= 0x7f800000 - 0x00800000) {
    if ((ix & 0x7fffffff) === 0) return Number.NEGATIVE_INFINITY;
    if (ix === 0x7f800000) return x;
    if (ix & 0x80000000 || ix * 2 >= 0xff000000) return Number.NaN;
    // subnormal: normalise
    f32[0] = x * 2 ** 23;
    ix = (u32[0]! - (23 << 23)) >>> 0;
  }
  const tmp = (ix - LOGF_OFF) >>> 0;
  const i = (tmp >>> 19) % 16;
  const k = (tmp | 0) >> 23;
  const iz = (ix - (tmp & 0xff800000)) >>> 0;
  const [invc, logc] = LOGF_T[i]!;
  u32[0] = iz;
  const z = f32[0]!;
  // Unfused evaluation (each op rounded).
  const r = z * invc - 1;
  const y0 = logc + k * LOGF_LN2;
  const r2 = r * r;
  let y = LOGF_A1 * r + LOGF_A2;
  y = LOGF_A0 * r2 + y;
  y = y * r2 + (y0 + r);
  const f = Math.fround(y);
  if (!fused) return f;
  // The fused result differs from y by a few double ulps at most; it can only round to another
  // float when y lies very close to a float rounding boundary. Only then evaluate exactly.
  const delta = Math.abs(y) * 2 ** -36;
  if (Math.fround(y - delta) === f && Math.fround(y + delta) === f) return f;
  const rf = fma(z, invc, -1);
  const y0f = fma(k, LOGF_LN2, logc);
  const r2f = rf * rf;
  let yf = fma(LOGF_A1, rf, LOGF_A2);
  yf = fma(LOGF_A0, r2f, yf);
  yf = fma(yf, r2f, y0f + rf);
  return Math.fround(yf);
}

/**
 * std::normal_distribution<float>(0, 1) from libstdc++ (Marsaglia polar method, caching the second
 * value) over std::mt19937, with float arithmetic exactly as compiled without FP contraction:
 *   do { x = float(2f·U − 1.0); y = float(2f·U − 1.0); r2 = x·x + y·y (float ops) }
 *   while (r2 > 1 || r2 == 0);   U = generate_canonical<float,24>
 *   mult = sqrtf(−2·logf(r2) / r2); saved = x·mult; return y·mult.
 */
export class LibstdcxxNormalFloat {
  private saved = 0;
  private savedAvailable = false;

  constructor(
    private readonly g: MT19937,
    private readonly fusedLogf = true,
  ) {}

  next(): number {
    if (this.savedAvailable) {
      this.savedAvailable = false;
      return this.saved;
    }
    const fr = Math.fround;
    let x: number;
    let y: number;
    let r2: number;
    do {
      x = fr(2 * generateCanonicalFloat(this.g) - 1);
      y = fr(2 * generateCanonicalFloat(this.g) - 1);
      r2 = fr(fr(x * x) + fr(y * y));
    } while (r2 > 1 || r2 === 0);
    const lg = glibcLogf(r2, this.fusedLogf);
    const mult = fr(Math.sqrt(fr(fr(-2 * lg) / r2)));
    this.saved = fr(x * mult);
    this.savedAvailable = true;
    return fr(y * mult);
  }
}

/** A stream as Arm's fill_random_norm_dist: a fresh mt19937(seed) and a fresh normal_distribution. */
export class ArmNormalStream {
  private readonly dist: LibstdcxxNormalFloat;

  constructor(seed: number, fusedLogf = true) {
    this.dist = new LibstdcxxNormalFloat(new MT19937(seed), fusedLogf);
  }

  fillNormal(out: Float32Array): void {
    for (let i = 0; i < out.length; i++) out[i] = this.dist.next();
  }
}
