/*
 * Inference BatchNormalization (FusedBatchNorm) over NHWC data with per-channel parameters:
 *   out[p, c] = offset[c] + ((x[p, c] - mean[c]) * scale[c]) / sd[c],   sd = sqrt(variance + eps)
 * in float32 in that order, as the wasm backend's own kernel computes it (which does the square
 * root and the division for every element in a scalar loop).
 */
#include "common.h"

EXPORT(batchnorm)
void batchnorm(const float *x, float *out, int pixels, int channels, const float *mean, const float *sd,
               const float *offset, const float *scale) {
  for (int p = 0; p < pixels; p++) {
    const float *xp = x + p * channels;
    float *o = out + p * channels;
    int c = 0;
    for (; c + 4 <= channels; c += 4) {
      v128_t t = wasm_f32x4_sub(wasm_v128_load(xp + c), wasm_v128_load(mean + c));
      t = wasm_f32x4_div(wasm_f32x4_mul(t, wasm_v128_load(scale + c)), wasm_v128_load(sd + c));
      wasm_v128_store(o + c, wasm_f32x4_add(wasm_v128_load(offset + c), t));
    }
    for (; c < channels; c++) o[c] = offset[c] + ((xp[c] - mean[c]) * scale[c]) / sd[c];
  }
}
