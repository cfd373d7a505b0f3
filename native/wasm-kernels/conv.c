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
    t.k0 = (y + pad) % stride;
    t.o0 = (y + pad - t.k0) / stride;
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
          v128_t acc = wasm_f32x4_splat(0.0f);
          for (int ky = ty.k0, oy = ty.o0; ky < fH && oy >= 0; ky += ty.kstep, oy -= ty.ostep) {
            if (oy >= outH) continue;
            for (int kx = tx.k0, ox = tx.o0; kx < fW && ox >= 0; kx += tx.kstep, ox -= tx.ostep) {
              if (ox >= outW) continue;
              const float *d = dy + ((n * outH + oy) * outW + ox) * outC;
              const float *wk = wt + (ky * fW + kx) * outC * inC4 + b;
              for (int co = 0; co < outC; co++)
                acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_f32x4_splat(d[co]), wasm_v128_load(wk + co * inC4)));
            }
          }
          store_lanes(o + b, acc, inC - b);
        }
      }
    }
  }
}

/* o[c] += d[c] * f[c] for c < channels. */
static inline void multiply_add(float *o, const float *d, const float *f, int channels) {
  int c = 0;
  for (; c + 4 <= channels; c += 4)
    wasm_v128_store(o + c, wasm_f32x4_add(wasm_v128_load(o + c), wasm_f32x4_mul(wasm_v128_load(d + c), wasm_v128_load(f + c))));
  for (; c < channels; c++) o[c] += d[c] * f[c];
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
 * Accumulated in dx's own row (it stays in L1), vectorised over channels when mult is 1.
 */
EXPORT(depthwise_backprop_input)
void depthwise_backprop_input(const float *dy, const float *f, float *dx, int batch, int inH, int inW, int channels,
                              int mult, int outH, int outW, int fH, int fW, int strideH, int strideW, int dilH,
                              int dilW, int padTop, int padLeft) {
  const int dyC = channels * mult;
  for (int n = 0; n < batch; n++) {
    for (int y = 0; y < inH; y++) {
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
            if (mult == 1) multiply_add(o, d, fk, channels);
            else multiply_add_grouped(o, d, fk, channels, mult);
          }
        }
      }
    }
  }
}
