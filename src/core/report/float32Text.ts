/**
 * Float32 values as JSON text with 9 significant digits (enough to round-trip every float32), fast:
 * result.json holds ~150 000 floats per map and the CLI prints it on the critical path.
 *
 * The reference semantics are `JSON.stringify(Number(v.toPrecision(9)))`; both functions here give
 * exactly that (same digits, same notation), computed with integer arithmetic on the common path.
 */

/** 10^k for k = 0..22 (all exact doubles), each split into hi + lo with hi ≤ 28 significant bits. */
const POW10 = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));
const POW10_HI = POW10.map((p) => {
  const unit = 2 ** Math.max(0, Math.floor(Math.log2(p)) - 27);
  return Math.floor(p / unit) * unit;
});
const POW10_LO = POW10.map((p, k) => p - POW10_HI[k]!);

/** Output of `decimal9`: |v| ≈ digits · 10^(exponent − 8), digits in [1e8, 1e9]. */
let digits = 0;
let exponent = 0;

/**
 * The nine significant digits of a finite, non-zero float32 magnitude `a`, rounded half up as
 * toPrecision does, from the exact product a·10^k = a·hi + a·lo (both products exact: 24 × ≤ 29
 * bits). False for magnitudes outside [1e-14, 1e9), where 10^k is not an exact double.
 */
function decimal9(a: number, log10Estimate: number): boolean {
  let e = Math.floor(log10Estimate);
  for (let attempt = 0; attempt < 3; attempt++) {
    const k = 8 - e;
    if (k < 0 || k > 22) return false;
    const hi = a * POW10_HI[k]!;
    const lo = a * POW10_LO[k]!;
    let whole = Math.floor(hi + lo);
    // Sterbenz: hi − whole is exact; the fraction's granularity (≥ 2^-48) dwarfs the sum's rounding.
    let fraction = hi - whole + lo;
    if (fraction < 0) {
      whole -= 1;
      fraction += 1;
    } else if (fraction >= 1) {
      whole += 1;
      fraction -= 1;
    }
    // log10 may miss by one next to a power of ten.
    if (whole >= 1e9) e += 1;
    else if (whole < 1e8) e -= 1;
    else {
      digits = fraction >= 0.5 ? whole + 1 : whole;
      exponent = e;
      return true;
    }
  }
  return false;
}

/**
 * `Number(v.toPrecision(9))` for a finite float32 `v`: digits / 10^k is one correctly rounded
 * division of exact doubles, i.e. the double nearest the decimal, which is what parsing gives.
 */
export function float32Decimal9(v: number): number {
  if (v === 0) return 0;
  if (!decimal9(Math.abs(v), Math.log10(Math.abs(v)))) return Number(v.toPrecision(9));
  const q = digits / POW10[8 - exponent]!;
  return v < 0 ? -q : q;
}

const ZERO = 0x30;
const scratch = new Uint8Array(10);
/** "00".."99" as two ASCII codes each. */
const DIGIT_PAIRS = Uint8Array.from({ length: 200 }, (_, i) => ZERO + (i & 1 ? (i >> 1) % 10 : Math.floor((i >> 1) / 10)));
/** log10 from a float32's bits, within ±0.03 (log2 of the mantissa taken as linear): decimal9 corrects a miss. */
const log10FromBits = (bits: number): number => (((bits >>> 23) & 0xff) - 127 + (bits & 0x7fffff) / 0x800000) * Math.LOG10E * Math.LN2;

/** Writes `text` (ASCII) at `p`; returns the end. */
function writeAscii(out: Uint8Array, p: number, text: string): number {
  for (let i = 0; i < text.length; i++) out[p++] = text.charCodeAt(i);
  return p;
}

/**
 * Writes what `JSON.stringify(Number(v.toPrecision(9)))` writes (`null` when not finite) at `p`;
 * returns the end. At most 15 bytes ("-1.23456789e-14"; the fallback's widest is as wide).
 */
function writeFloat32(out: Uint8Array, p: number, v: number, bits: number): number {
  if (v === 0) {
    out[p] = ZERO;
    return p + 1;
  }
  if (!Number.isFinite(v)) return writeAscii(out, p, 'null');
  // Denormals (exponent bits 0) are far below the exact range: straight to the fallback.
  if ((bits & 0x7f800000) === 0 || !decimal9(Math.abs(v), log10FromBits(bits)))
    return writeAscii(out, p, JSON.stringify(Number(v.toPrecision(9))));
  if (v < 0) out[p++] = 0x2d;
  let m = digits | 0;
  let point = exponent + 1; // digits are 0.d1d2… × 10^point, as in Number::toString
  if (m === 1e9) {
    m = 1e8;
    point += 1;
  }
  // scratch[1..9] = the nine digits, two at a time
  for (let i = 8; i > 0; i -= 2) {
    const rest = (m / 100) | 0;
    const pair = (m - rest * 100) << 1;
    scratch[i] = DIGIT_PAIRS[pair]!;
    scratch[i + 1] = DIGIT_PAIRS[pair + 1]!;
    m = rest;
  }
  scratch[1] = ZERO + m;
  let count = 9;
  while (scratch[count] === ZERO) count--;
  if (point > 0) {
    // point ≤ 10 here, far from toString's exponent switch at 21
    for (let i = 1; i <= count; i++) {
      if (i === point + 1) out[p++] = 0x2e;
      out[p++] = scratch[i]!;
    }
    for (let i = count; i < point; i++) out[p++] = ZERO;
    return p;
  }
  if (point > -6) {
    out[p++] = ZERO;
    out[p++] = 0x2e;
    for (let i = point; i < 0; i++) out[p++] = ZERO;
    for (let i = 1; i <= count; i++) out[p++] = scratch[i]!;
    return p;
  }
  out[p++] = scratch[1]!;
  if (count > 1) out[p++] = 0x2e;
  for (let i = 2; i <= count; i++) out[p++] = scratch[i]!;
  return writeAscii(out, p, `e-${1 - point}`);
}

/** The JSON array text of float32 data, as ASCII bytes: `[v0,v1,…]`, each as `writeFloat32`. */
export function float32ArrayJson(data: Float32Array): Uint8Array {
  const out = new Uint8Array(data.length * 16 + 2);
  const bits = new Int32Array(data.buffer, data.byteOffset, data.length);
  let p = 0;
  out[p++] = 0x5b;
  for (let i = 0; i < data.length; i++) {
    if (i > 0) out[p++] = 0x2c;
    p = writeFloat32(out, p, data[i]!, bits[i]!);
  }
  out[p++] = 0x5d;
  return out.subarray(0, p);
}

/**
 * Float32 arrays formatted ahead of time (the CLI formats each map as it arrives, while the pool
 * computes the next ones), found again by content: `text` gives the stored text only for identical
 * bytes, so the output is exactly what formatting now would give.
 */
export class Float32TextCache {
  private readonly entries: { bytes: Buffer; text: Uint8Array }[] = [];
  private held = 0;

  /** Past `maxBytes` held (copies and texts), arrays are left to be formatted when written. */
  constructor(private readonly maxBytes = 256 * 2 ** 20) {}

  add(data: Float32Array): void {
    if (this.held + data.byteLength * 5 > this.maxBytes) return;
    const bytes = Buffer.from(data.slice().buffer);
    if (this.find(bytes)) return;
    const text = float32ArrayJson(data);
    this.entries.push({ bytes, text });
    this.held += bytes.length + text.byteLength;
  }

  text(data: Float32Array): Uint8Array {
    return this.find(Buffer.from(data.buffer, data.byteOffset, data.byteLength))?.text ?? float32ArrayJson(data);
  }

  private find(bytes: Buffer): { text: Uint8Array } | undefined {
    return this.entries.find((e) => e.bytes.length === bytes.length && e.bytes.equals(bytes));
  }
}
