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
 * Multiplier 1: per pixel in registers, 16 then 4 channels at a time; else accumulated in dx's own row.
 */
static void depthwise_impl(const float *dy, const float *f, float *dx, const float *ym, float hi, int batch, int inH,
                           int inW, int channels, int mult, int outH, int outW, int fH, int fW, int strideH, int strideW,
                           int dilH, int dilW, int padTop, int padLeft) {
  const int dyC = channels * mult;
  for (int n = 0; n < batch; n++) {
    for (int y = 0; y < inH; y++) {
      const taps_t ty = taps_for(y, padTop, dilH, strideH);
      for (int x = 0; x < inW; x++) {
        const taps_t tx = taps_for(x, padLeft, dilW, strideW);
        float *o = dx + ((n * inH + y) * inW + x) * channels;
        if (mult == 1) {
          depthwise_pixel(dy, f, o, ym ? ym + ((n * inH + y) * inW + x) * channels : 0, n, channels, outH, outW, fH, fW,
                          ty, tx, hi);
          continue;
        }
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
