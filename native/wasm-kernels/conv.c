/*
 * Input gradients of convolutions (NHWC, filters [fh, fw, in, out]), computed directly: every dx
 * element gathers the dy elements whose receptive field holds it, with any stride, dilation and
 * padding, so nothing is zero-upsampled or padded first.
 *
 * A dx row y receives from filter row ky the dy row oy = (y + padTop - ky * dilH) / strideH when that
 * division is exact and 0 <= oy < outH (likewise for columns).
 */
#include "common.h"

/* First dy row (or column) of filter tap k for input row y, or -1 when the tap does not reach y. */
static inline int source_index(int y, int pad, int k, int dil, int stride, int out) {
  const int t = y + pad - k * dil;
  if (t < 0 || t % stride != 0) return -1;
  const int o = t / stride;
  return o < out ? o : -1;
}

/*
 * dx of Conv2D: dx[n, y, x, ci] = sum over taps and co of dy[n, oy, ox, co] * w[ky, kx, ci, co].
 * Vectorised over co, one horizontal sum per dx element: meant for few input channels (an RGB stem),
 * where XNNPACK cannot amortise a zero-upsampled dy.
 */
EXPORT(conv2d_backprop_input)
void conv2d_backprop_input(const float *dy, const float *w, float *dx, int batch, int inH, int inW, int inC, int outH,
                           int outW, int outC, int fH, int fW, int strideH, int strideW, int dilH, int dilW,
                           int padTop, int padLeft) {
  for (int n = 0; n < batch; n++) {
    for (int y = 0; y < inH; y++) {
      for (int x = 0; x < inW; x++) {
        float *o = dx + ((n * inH + y) * inW + x) * inC;
        for (int ci = 0; ci < inC; ci++) {
          v128_t acc = wasm_f32x4_splat(0.0f);
          float tail = 0.0f;
          for (int ky = 0; ky < fH; ky++) {
            const int oy = source_index(y, padTop, ky, dilH, strideH, outH);
            if (oy < 0) continue;
            for (int kx = 0; kx < fW; kx++) {
              const int ox = source_index(x, padLeft, kx, dilW, strideW, outW);
              if (ox < 0) continue;
              const float *d = dy + ((n * outH + oy) * outW + ox) * outC;
              const float *wk = w + ((ky * fW + kx) * inC + ci) * outC;
              int co = 0;
              for (; co + 4 <= outC; co += 4)
                acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_v128_load(d + co), wasm_v128_load(wk + co)));
              for (; co < outC; co++) tail += d[co] * wk[co];
            }
          }
          o[ci] = hsum(acc) + tail;
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
      for (int x = 0; x < inW; x++) {
        float *o = dx + ((n * inH + y) * inW + x) * channels;
        int c = 0;
        for (; c + 4 <= channels; c += 4) wasm_v128_store(o + c, wasm_f32x4_splat(0.0f));
        for (; c < channels; c++) o[c] = 0.0f;
        for (int ky = 0; ky < fH; ky++) {
          const int oy = source_index(y, padTop, ky, dilH, strideH, outH);
          if (oy < 0) continue;
          for (int kx = 0; kx < fW; kx++) {
            const int ox = source_index(x, padLeft, kx, dilW, strideW, outW);
            if (ox < 0) continue;
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
