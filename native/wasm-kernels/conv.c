/*
 * Input gradients of convolutions (NHWC, filters [fh, fw, in, out]), computed directly: every dx
 * element gathers the dy elements whose receptive field holds it, with any stride, dilation and
 * padding, so nothing is zero-upsampled or padded first.
 *
 * A dx row y receives from filter row ky the dy row oy = (y + padTop - ky * dilH) / strideH when that
 * division is exact and 0 <= oy < outH (likewise for columns). Either the stride or the dilation is 1.
 */
#include "common.h"

/*
 * The filter taps that reach input row (or column) y and their dy rows: taps k0, k0 + kstep, … with
 * dy rows o0, o0 − ostep, … (valid while 0 <= o < out). TF.js never combines a stride > 1 with a
 * dilation > 1 (the caller checks), so only one division per input position is needed.
 */
typedef struct {
  int k0, o0, kstep, ostep;
} taps_t;

static inline taps_t taps_for(int y, int pad, int dil, int stride) {
  taps_t t;
  if (stride == 1) {
    t.k0 = 0;
    t.o0 = y + pad;
    t.kstep = 1;
    t.ostep = dil;
  } else {
    /* (a shift for stride 2, the common case: an integer division per pixel costs more than the taps) */
    t.k0 = stride == 2 ? (y + pad) & 1 : (y + pad) % stride;
    t.o0 = stride == 2 ? (y + pad) >> 1 : (y + pad - t.k0) / stride;
    t.kstep = stride;
    t.ostep = 1;
  }
  return t;
}

/* Store the first `count` (1..4) lanes of v at o. */
static inline void store_lanes(float *o, v128_t v, int count) {
  if (count >= 4) {
    wasm_v128_store(o, v);
    return;
  }
  o[0] = wasm_f32x4_extract_lane(v, 0);
  if (count > 1) o[1] = wasm_f32x4_extract_lane(v, 1);
  if (count > 2) o[2] = wasm_f32x4_extract_lane(v, 2);
}

/*
 * dx of Conv2D: dx[n, y, x, ci] = sum over taps and co of dy[n, oy, ox, co] * w[ky, kx, ci, co],
 * for few input channels (an RGB stem), where XNNPACK cannot amortise a zero-upsampled dy.
 * `wt` is the filter rearranged by the caller to [fH, fW, outC, inC4] (inC4 = inC rounded up to 4,
 * zero-filled), so that four input channels accumulate in one vector: no horizontal sums.
 */
EXPORT(conv2d_backprop_input)
void conv2d_backprop_input(const float *dy, const float *wt, float *dx, int batch, int inH, int inW, int inC, int outH,
                           int outW, int outC, int fH, int fW, int strideH, int strideW, int dilH, int dilW,
                           int padTop, int padLeft) {
  const int inC4 = (inC + 3) & ~3;
  for (int n = 0; n < batch; n++) {
    for (int y = 0; y < inH; y++) {
      const taps_t ty = taps_for(y, padTop, dilH, strideH);
      for (int x = 0; x < inW; x++) {
        const taps_t tx = taps_for(x, padLeft, dilW, strideW);
        float *o = dx + ((n * inH + y) * inW + x) * inC;
        for (int b = 0; b < inC4; b += 4) {
          /* four partial sums (output channels co mod 4) so that the adds do not wait on each other */
          v128_t acc[4] = {wasm_f32x4_splat(0.0f), wasm_f32x4_splat(0.0f), wasm_f32x4_splat(0.0f), wasm_f32x4_splat(0.0f)};
          for (int ky = ty.k0, oy = ty.o0; ky < fH && oy >= 0; ky += ty.kstep, oy -= ty.ostep) {
            if (oy >= outH) continue;
            for (int kx = tx.k0, ox = tx.o0; kx < fW && ox >= 0; kx += tx.kstep, ox -= tx.ostep) {
              if (ox >= outW) continue;
              const float *d = dy + ((n * outH + oy) * outW + ox) * outC;
              const float *wk = wt + (ky * fW + kx) * outC * inC4 + b;
              int co = 0;
              for (; co + 4 <= outC; co += 4)
                for (int q = 0; q < 4; q++)
                  acc[q] = wasm_f32x4_add(acc[q], wasm_f32x4_mul(wasm_f32x4_splat(d[co + q]), wasm_v128_load(wk + (co + q) * inC4)));
              for (; co < outC; co++)
                acc[0] = wasm_f32x4_add(acc[0], wasm_f32x4_mul(wasm_f32x4_splat(d[co]), wasm_v128_load(wk + co * inC4)));
            }
          }
          store_lanes(o + b, wasm_f32x4_add(wasm_f32x4_add(acc[0], acc[1]), wasm_f32x4_add(acc[2], acc[3])), inC - b);
        }
      }
    }
  }
}

/* The mask of mask_multiply (elementwise.c): 1 where lo < y <= hi, NaN where y is NaN, else 0. */
static inline v128_t relu_mask(v128_t y, v128_t lo, v128_t hi) {
  const v128_t inside = wasm_v128_and(wasm_f32x4_gt(y, lo), wasm_f32x4_le(y, hi));
  return wasm_v128_or(wasm_v128_and(inside, wasm_f32x4_splat(1.0f)), wasm_v128_and(wasm_f32x4_ne(y, y), y));
}

static inline float relu_mask1(float y, float lo, float hi) {
  return (y > lo && y <= hi) ? 1.0f : (y != y ? y : 0.0f);
}

/* Channel block [c, c + 4·V) of one dx pixel: sum over the taps in registers, then × mask(ym). */
#define DEPTHWISE_BLOCK(V)                                                                                           \
  for (; c + 4 * (V) <= channels; c += 4 * (V)) {                                                                   \
    v128_t acc[V];                                                                                                   \
    for (int v = 0; v < (V); v++) acc[v] = wasm_f32x4_splat(0.0f);                                                  \
    for (int ky = ty.k0, oy = ty.o0; ky < fH && oy >= 0; ky += ty.kstep, oy -= ty.ostep) {                           \
      if (oy >= outH) continue;                                                                                      \
      for (int kx = tx.k0, ox = tx.o0; kx < fW && ox >= 0; kx += tx.kstep, ox -= tx.ostep) {                         \
        if (ox >= outW) continue;                                                                                    \
        const float *d = dy + ((n * outH + oy) * outW + ox) * channels + c;                                          \
        const float *fk = f + (ky * fW + kx) * channels + c;                                                         \
        for (int v = 0; v < (V); v++)                                                                                \
          acc[v] = wasm_f32x4_add(acc[v], wasm_f32x4_mul(wasm_v128_load(d + 4 * v), wasm_v128_load(fk + 4 * v)));    \
      }                                                                                                              \
    }                                                                                                                \
    for (int v = 0; v < (V); v++) {                                                                                  \
      if (ym) acc[v] = wasm_f32x4_mul(acc[v], relu_mask(wasm_v128_load(ym + c + 4 * v), vlo, vhi));                 \
      wasm_v128_store(o + c + 4 * v, acc[v]);                                                                        \
    }                                                                                                                \
  }

/*
 * One dx pixel of a depth-multiplier-1 depthwise conv, summed in registers over the taps in tap order
 * starting from +0 (as an accumulation in dx would: same result), optionally times the ReLU mask of ym.
 */
static inline void depthwise_pixel(const float *dy, const float *f, float *o, const float *ym, int n, int channels,
                                   int outH, int outW, int fH, int fW, taps_t ty, taps_t tx, float hi) {
  const v128_t vlo = wasm_f32x4_splat(0.0f), vhi = wasm_f32x4_splat(hi);
  int c = 0;
  DEPTHWISE_BLOCK(4)
  DEPTHWISE_BLOCK(1)
  for (; c < channels; c++) {
    float acc = 0.0f;
    for (int ky = ty.k0, oy = ty.o0; ky < fH && oy >= 0; ky += ty.kstep, oy -= ty.ostep) {
      if (oy >= outH) continue;
      for (int kx = tx.k0, ox = tx.o0; kx < fW && ox >= 0; kx += tx.kstep, ox -= tx.ostep)
        if (ox < outW) acc += dy[((n * outH + oy) * outW + ox) * channels + c] * f[(ky * fW + kx) * channels + c];
    }
    o[c] = ym ? acc * relu_mask1(ym[c], 0.0f, hi) : acc;
  }
}

/* acc + d · f for 4 channels. */
static inline v128_t madd(v128_t acc, const float *d, v128_t f) { return wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_v128_load(d), f)); }

/* Store acc (× the ReLU mask of ym when given) at o. */
static inline void store_masked(float *o, v128_t acc, const float *ym, v128_t vlo, v128_t vhi) {
  if (ym) acc = wasm_f32x4_mul(acc, relu_mask(wasm_v128_load(ym), vlo, vhi));
  wasm_v128_store(o, acc);
}

/*
 * Interior of one dx row of a 3x3, stride-1, undilated depthwise conv (multiplier 1, channels a
 * multiple of 4): x in [x0, x1), where all nine taps land inside dy. Four channels at a time with
 * their nine filter vectors held in registers while the row is swept; the taps are summed in the
 * generic kernel's order (ky, then kx), so the result is the same to the bit.
 * d0, d1, d2: dy rows oy = y + padTop - ky for ky = 0, 1, 2.
 */
static void depthwise3x3_s1_row(const float *d0, const float *d1, const float *d2, const float *f, float *o, const float *ym,
                                int channels, int x0, int x1, int padLeft, float hi) {
  const v128_t vlo = wasm_f32x4_splat(0.0f), vhi = wasm_f32x4_splat(hi);
  for (int c = 0; c < channels; c += 4) {
    const v128_t f00 = wasm_v128_load(f + 0 * channels + c), f01 = wasm_v128_load(f + 1 * channels + c),
                 f02 = wasm_v128_load(f + 2 * channels + c), f10 = wasm_v128_load(f + 3 * channels + c),
                 f11 = wasm_v128_load(f + 4 * channels + c), f12 = wasm_v128_load(f + 5 * channels + c),
                 f20 = wasm_v128_load(f + 6 * channels + c), f21 = wasm_v128_load(f + 7 * channels + c),
                 f22 = wasm_v128_load(f + 8 * channels + c);
    for (int x = x0; x < x1; x++) {
      const int ox = (x + padLeft) * channels + c; /* kx = 0; kx = 1, 2 are one and two pixels left */
      v128_t acc = wasm_f32x4_splat(0.0f);
      acc = madd(acc, d0 + ox, f00);
      acc = madd(acc, d0 + ox - channels, f01);
      acc = madd(acc, d0 + ox - 2 * channels, f02);
      acc = madd(acc, d1 + ox, f10);
      acc = madd(acc, d1 + ox - channels, f11);
      acc = madd(acc, d1 + ox - 2 * channels, f12);
      acc = madd(acc, d2 + ox, f20);
      acc = madd(acc, d2 + ox - channels, f21);
      acc = madd(acc, d2 + ox - 2 * channels, f22);
      store_masked(o + x * channels + c, acc, ym ? ym + x * channels + c : 0, vlo, vhi);
    }
  }
}

/*
 * The same for stride 2: dx row y receives from dy rows oy = (y + padTop - ky) / 2 for the ky of
 * y + padTop's parity (ky = 0, 2 when even: rows da, db; ky = 1 when odd: row da only, db null),
 * and pixel x likewise from columns of x + padLeft's parity. x in [x0, x1): all taps inside dy.
 */
static void depthwise3x3_s2_row(const float *da, const float *db, int kyA, const float *f, float *o, const float *ym,
                                int channels, int x0, int x1, int padLeft, float hi) {
  const v128_t vlo = wasm_f32x4_splat(0.0f), vhi = wasm_f32x4_splat(hi);
  const float *fa = f + kyA * 3 * channels, *fb = f + (kyA + 2) * 3 * channels;
  for (int c = 0; c < channels; c += 4) {
    const v128_t a0 = wasm_v128_load(fa + c), a1 = wasm_v128_load(fa + channels + c), a2 = wasm_v128_load(fa + 2 * channels + c);
    const v128_t b0 = db ? wasm_v128_load(fb + c) : a0, b1 = db ? wasm_v128_load(fb + channels + c) : a1,
                 b2 = db ? wasm_v128_load(fb + 2 * channels + c) : a2;
    for (int x = x0; x < x1; x++) {
      const int q = x + padLeft;
      v128_t acc = wasm_f32x4_splat(0.0f);
      if (q & 1) {
        const int ox = ((q - 1) >> 1) * channels + c; /* kx = 1 */
        acc = madd(acc, da + ox, a1);
        if (db) acc = madd(acc, db + ox, b1);
      } else {
        const int ox = (q >> 1) * channels + c; /* kx = 0; kx = 2 is one dy pixel left */
        acc = madd(acc, da + ox, a0);
        acc = madd(acc, da + ox - channels, a2);
        if (db) {
          acc = madd(acc, db + ox, b0);
          acc = madd(acc, db + ox - channels, b2);
        }
      }
      store_masked(o + x * channels + c, acc, ym ? ym + x * channels + c : 0, vlo, vhi);
    }
  }
}

/*
 * One dx row of a multiplier-1 depthwise conv: the interior of 3x3 undilated stride-1/2 convs by the
 * row kernels above (when every tap row of y lies inside dy), the rest pixel by pixel.
 */
static void depthwise_row(const float *dy, const float *f, float *o, const float *ym, int n, int y, int inW, int channels,
                          int outH, int outW, int fH, int fW, int strideH, int strideW, int dilH, int dilW, int padTop,
                          int padLeft, float hi) {
  const taps_t ty = taps_for(y, padTop, dilH, strideH);
  int x0 = 0, x1 = 0;
  const int fast = fH == 3 && fW == 3 && dilH == 1 && dilW == 1 && (channels & 3) == 0 && strideH == strideW &&
                   (strideH == 1 || strideH == 2);
  if (fast) {
    const float *rows = dy + n * outH * outW * channels;
    const int row = outW * channels;
    if (strideH == 1 && y + padTop - 2 >= 0 && y + padTop < outH) {
      x0 = 2 - padLeft > 0 ? 2 - padLeft : 0;
      x1 = outW - padLeft < inW ? outW - padLeft : inW;
      if (x1 > x0) {
        const float *d0 = rows + (y + padTop) * row;
        depthwise3x3_s1_row(d0, d0 - row, d0 - 2 * row, f, o, ym, channels, x0, x1, padLeft, hi);
      }
    } else if (strideH == 2) {
      const int p = y + padTop, even = (p & 1) == 0;
      const int oa = even ? p >> 1 : (p - 1) >> 1; /* row of ky = 0 (even) or ky = 1 (odd) */
      if (oa < outH && (even ? oa - 1 >= 0 : oa >= 0)) {
        x0 = 2 - padLeft > 0 ? 2 - padLeft : 0;
        x1 = 2 * outW - padLeft < inW ? 2 * outW - padLeft : inW; /* x + padLeft <= 2·outW − 1 (odd: column outW − 1) */
        if (x1 > x0) {
          const float *da = rows + oa * row;
          depthwise3x3_s2_row(da, even ? da - row : 0, even ? 0 : 1, f, o, ym, channels, x0, x1, padLeft, hi);
        }
      }
    }
    if (x1 <= x0) x0 = x1 = 0;
  }
  for (int x = 0; x < inW; x++) {
    if (x == x0 && x1 > x0) x = x1;
    if (x >= inW) break;
    const taps_t tx = taps_for(x, padLeft, dilW, strideW);
    depthwise_pixel(dy, f, o + x * channels, ym ? ym + x * channels : 0, n, channels, outH, outW, fH, fW, ty, tx, hi);
  }
}

/* o[c] += sum over q < mult of d[c * mult + q] * f[c * mult + q] (depth multiplier > 1). */
static inline void multiply_add_grouped(float *o, const float *d, const float *f, int channels, int mult) {
  for (int c = 0; c < channels; c++) {
    float s = 0.0f;
    for (int q = 0; q < mult; q++) s += d[c * mult + q] * f[c * mult + q];
    o[c] += s;
  }
}

/*
 * dx of DepthwiseConv2dNative with depth multiplier `mult`:
 * dx[n, y, x, c] = sum over taps and q of dy[n, oy, ox, c * mult + q] * f[ky, kx, c, q].
 * Multiplier 1: row by row (depthwise_row); else accumulated in dx's own row.
 */
static void depthwise_impl(const float *dy, const float *f, float *dx, const float *ym, float hi, int batch, int inH,
                           int inW, int channels, int mult, int outH, int outW, int fH, int fW, int strideH, int strideW,
                           int dilH, int dilW, int padTop, int padLeft) {
  const int dyC = channels * mult;
  for (int n = 0; n < batch; n++) {
    for (int y = 0; y < inH; y++) {
      if (mult == 1) {
        const int at = (n * inH + y) * inW * channels;
        depthwise_row(dy, f, dx + at, ym ? ym + at : 0, n, y, inW, channels, outH, outW, fH, fW, strideH, strideW, dilH,
                      dilW, padTop, padLeft, hi);
        continue;
      }
      const taps_t ty = taps_for(y, padTop, dilH, strideH);
      for (int x = 0; x < inW; x++) {
        const taps_t tx = taps_for(x, padLeft, dilW, strideW);
        float *o = dx + ((n * inH + y) * inW + x) * channels;
        int c = 0;
        for (; c + 4 <= channels; c += 4) wasm_v128_store(o + c, wasm_f32x4_splat(0.0f));
        for (; c < channels; c++) o[c] = 0.0f;
        for (int ky = ty.k0, oy = ty.o0; ky < fH && oy >= 0; ky += ty.kstep, oy -= ty.ostep) {
          if (oy >= outH) continue;
          for (int kx = tx.k0, ox = tx.o0; kx < fW && ox >= 0; kx += tx.kstep, ox -= tx.ostep) {
            if (ox >= outW) continue;
            const float *d = dy + ((n * outH + oy) * outW + ox) * dyC;
            const float *fk = f + (ky * fW + kx) * dyC;
            multiply_add_grouped(o, d, fk, channels, mult);
          }
        }
      }
    }
  }
}

EXPORT(depthwise_backprop_input)
void depthwise_backprop_input(const float *dy, const float *f, float *dx, int batch, int inH, int inW, int channels,
                              int mult, int outH, int outW, int fH, int fW, int strideH, int strideW, int dilH,
                              int dilW, int padTop, int padLeft) {
  depthwise_impl(dy, f, dx, 0, 0.0f, batch, inH, inW, channels, mult, outH, outW, fH, fW, strideH, strideW, dilH, dilW,
                 padTop, padLeft);
}

/*
 * The same times the ReLU mask of the forward input ym (1 where 0 < ym <= hi): the gradient of a
 * ReLU/ReLU6 whose output only this depthwise conv reads, applied as each dx element is stored
 * (mult == 1; the caller masks separately otherwise).
 */
EXPORT(depthwise_backprop_input_masked)
void depthwise_backprop_input_masked(const float *dy, const float *f, float *dx, const float *ym, float hi, int batch,
                                     int inH, int inW, int channels, int outH, int outW, int fH, int fW, int strideH,
                                     int strideW, int dilH, int dilW, int padTop, int padLeft) {
  depthwise_impl(dy, f, dx, ym, hi, batch, inH, inW, channels, 1, outH, outW, fH, fW, strideH, strideW, dilH, dilW,
                 padTop, padLeft);
}

/*
 * The scatter half of a convolution's input gradient computed as a product: cols holds, for every dy
 * pixel, dy[n, oy, ox, :] · w[ky, kx, ci, :] for every tap and input channel (layout [.., fH, fW, inC],
 * one XNNPACK GEMM with a filter rearranged once), and dx[n, y, x, ci] sums the cols entries of the
 * taps that reach (y, x), in tap order. Any stride, dilation (not both > 1) and padding.
 */
EXPORT(col2im)
void col2im(const float *cols, float *dx, int batch, int inH, int inW, int inC, int outH, int outW, int fH, int fW,
            int strideH, int strideW, int dilH, int dilW, int padTop, int padLeft) {
  const int k = fH * fW * inC;
  for (int n = 0; n < batch; n++) {
    for (int y = 0; y < inH; y++) {
      const taps_t ty = taps_for(y, padTop, dilH, strideH);
      for (int x = 0; x < inW; x++) {
        const taps_t tx = taps_for(x, padLeft, dilW, strideW);
        float *o = dx + ((n * inH + y) * inW + x) * inC;
        /* up to 4 channels in registers (an RGB stem), then the rest in dx */
        float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
        for (int c = 4; c < inC; c++) o[c] = 0.0f;
        for (int ky = ty.k0, oy = ty.o0; ky < fH && oy >= 0; ky += ty.kstep, oy -= ty.ostep) {
          if (oy >= outH) continue;
          for (int kx = tx.k0, ox = tx.o0; kx < fW && ox >= 0; kx += tx.kstep, ox -= tx.ostep) {
            if (ox >= outW) continue;
            const float *col = cols + ((n * outH + oy) * outW + ox) * k + (ky * fW + kx) * inC;
            a0 += col[0];
            if (inC > 1) a1 += col[1];
            if (inC > 2) a2 += col[2];
            if (inC > 3) a3 += col[3];
            for (int c = 4; c < inC; c++) o[c] += col[c];
          }
        }
        o[0] = a0;
        if (inC > 1) o[1] = a1;
        if (inC > 2) o[2] = a2;
        if (inC > 3) o[3] = a3;
      }
    }
  }
}
