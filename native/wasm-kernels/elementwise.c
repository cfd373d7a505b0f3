/*
 * Element-wise gradient masks and per-channel scalings (memory-bound single passes).
 *
 * mask_select:   out = lo <= x <= hi ? dy : +0          ClipByValue's gradient, exactly
 *                                                      where(logicalAnd(x >= lo, x <= hi), dy, 0)
 * mask_multiply: out = dy * m, m = lo < x <= hi ? 1 : (x is NaN ? NaN : 0)
 *                                                      Relu6 / Relu gradients as the wasm backend
 *                                                      composes them (its step(NaN) is NaN)
 * channel_scale2: out[p, c] = (dy[p, c] * a[c]) * b[c] BatchNorm's input gradient, same products
 *                                                      in the same order as TF.js (bit-identical)
 */
#include "common.h"

EXPORT(mask_select)
void mask_select(const float *x, const float *dy, float *out, int n, float lo, float hi) {
  const v128_t vlo = wasm_f32x4_splat(lo), vhi = wasm_f32x4_splat(hi);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    const v128_t xv = wasm_v128_load(x + i);
    const v128_t keep = wasm_v128_and(wasm_f32x4_ge(xv, vlo), wasm_f32x4_le(xv, vhi));
    wasm_v128_store(out + i, wasm_v128_and(keep, wasm_v128_load(dy + i)));
  }
  for (; i < n; i++) out[i] = (x[i] >= lo && x[i] <= hi) ? dy[i] : 0.0f;
}

EXPORT(mask_multiply)
void mask_multiply(const float *x, const float *dy, float *out, int n, float lo, float hi) {
  const v128_t vlo = wasm_f32x4_splat(lo), vhi = wasm_f32x4_splat(hi), one = wasm_f32x4_splat(1.0f);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    const v128_t xv = wasm_v128_load(x + i);
    const v128_t inside = wasm_v128_and(wasm_f32x4_gt(xv, vlo), wasm_f32x4_le(xv, vhi));
    const v128_t nan = wasm_v128_and(wasm_f32x4_ne(xv, xv), xv);
    const v128_t m = wasm_v128_or(wasm_v128_and(inside, one), nan);
    wasm_v128_store(out + i, wasm_f32x4_mul(wasm_v128_load(dy + i), m));
  }
  for (; i < n; i++) {
    const float xi = x[i];
    const float m = (xi > lo && xi <= hi) ? 1.0f : (xi != xi ? xi : 0.0f);
    out[i] = dy[i] * m;
  }
}

EXPORT(channel_scale2)
void channel_scale2(const float *dy, const float *a, const float *b, float *out, int pixels, int channels) {
  for (int p = 0; p < pixels; p++) {
    const float *d = dy + p * channels;
    float *o = out + p * channels;
    int c = 0;
    for (; c + 4 <= channels; c += 4) {
      const v128_t v = wasm_f32x4_mul(wasm_v128_load(d + c), wasm_v128_load(a + c));
      wasm_v128_store(o + c, wasm_f32x4_mul(v, wasm_v128_load(b + c)));
    }
    for (; c < channels; c++) o[c] = (d[c] * a[c]) * b[c];
  }
}

/*
 * The input gradient of BatchNormalization → ReLU (→ clip to [lo, hi] with lo <= 0 <= hi) in one
 * pass, from the gradient g at the activation's output and the BatchNorm output y:
 *   t = y <= hi ? g : +0;  t = t * m(y), m = y > 0 ? 1 : (y is NaN ? NaN : 0);  out = (t * a[c]) * b[c]
 * which is bit for bit mask_select (on relu(y)), then mask_multiply, then channel_scale2 (for a
 * plain ReLU hi is +inf).
 */
EXPORT(activation_batchnorm_grad)
void activation_batchnorm_grad(const float *g, const float *y, const float *a, const float *b, float *out, int pixels,
                               int channels, float hi) {
  const v128_t vhi = wasm_f32x4_splat(hi), zero = wasm_f32x4_splat(0.0f), one = wasm_f32x4_splat(1.0f);
  for (int p = 0; p < pixels; p++) {
    const float *gp = g + p * channels, *yp = y + p * channels;
    float *o = out + p * channels;
    int c = 0;
    for (; c + 4 <= channels; c += 4) {
      const v128_t yv = wasm_v128_load(yp + c);
      const v128_t t = wasm_v128_and(wasm_f32x4_le(yv, vhi), wasm_v128_load(gp + c));
      const v128_t nan = wasm_v128_and(wasm_f32x4_ne(yv, yv), yv);
      const v128_t m = wasm_v128_or(wasm_v128_and(wasm_f32x4_gt(yv, zero), one), nan);
      const v128_t s = wasm_f32x4_mul(wasm_f32x4_mul(t, m), wasm_v128_load(a + c));
      wasm_v128_store(o + c, wasm_f32x4_mul(s, wasm_v128_load(b + c)));
    }
    for (; c < channels; c++) {
      const float yc = yp[c];
      const float t = yc <= hi ? gp[c] : 0.0f;
      const float m = yc > 0.0f ? 1.0f : (yc != yc ? yc : 0.0f);
      o[c] = ((t * m) * a[c]) * b[c];
    }
  }
}

/* How many of x[0..n) are NaN or ±Infinity (x - x is 0 only for finite x). */
EXPORT(count_nonfinite)
int count_nonfinite(const float *x, int n) {
  v128_t bad = wasm_i32x4_splat(0);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    const v128_t v = wasm_v128_load(x + i);
    const v128_t d = wasm_f32x4_sub(v, v);
    bad = wasm_i32x4_sub(bad, wasm_f32x4_ne(d, d)); /* lanes are -1 where d is NaN */
  }
  int count = wasm_i32x4_extract_lane(bad, 0) + wasm_i32x4_extract_lane(bad, 1) + wasm_i32x4_extract_lane(bad, 2) +
              wasm_i32x4_extract_lane(bad, 3);
  for (; i < n; i++) count += (x[i] - x[i] != 0.0f) || (x[i] != x[i]);
  return count;
}

/* out = a + b elementwise (the layers plan's residual sums and gradient accumulations). */
EXPORT(add)
void add(const float *a, const float *b, float *out, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(out + i, wasm_f32x4_add(wasm_v128_load(a + i), wasm_v128_load(b + i)));
  for (; i < n; i++) out[i] = a[i] + b[i];
}

/*
 * out[n, c] = (sum over p of x[n, p, c]) / pixels: global average pooling of an NHWC batch in one
 * pass over x (the backend's Mean transposes x first), summing pixels in order in float32.
 */
EXPORT(spatial_mean)
void spatial_mean(const float *x, float *out, int batch, int pixels, int channels) {
  for (int n = 0; n < batch; n++) {
    const float *xn = x + n * pixels * channels;
    float *o = out + n * channels;
    int c = 0;
    for (; c + 4 <= channels; c += 4) {
      v128_t acc = wasm_f32x4_splat(0.0f);
      for (int p = 0; p < pixels; p++) acc = wasm_f32x4_add(acc, wasm_v128_load(xn + p * channels + c));
      wasm_v128_store(o + c, wasm_f32x4_div(acc, wasm_f32x4_splat((float)pixels)));
    }
    for (; c < channels; c++) {
      float acc = 0.0f;
      for (int p = 0; p < pixels; p++) acc += xn[p * channels + c];
      o[c] = acc / (float)pixels;
    }
  }
}

/* Sum of the four lanes of v, in float64, added to acc's two lanes. */
static inline v128_t widen_add(v128_t acc, v128_t v) {
  acc = wasm_f64x2_add(acc, wasm_f64x2_promote_low_f32x4(v));
  return wasm_f64x2_add(acc, wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 0, 1)));
}

/*
 * Per row r of g [rows, size]: out[r] = sum of g², and, when dir is given, out[rows + r] = sum of
 * g · dir (dir [size], shared by all rows): the reductions a pool thread returns per path point, in
 * one pass over the gradient. Products in float32 (as a float32 tensor product would), sums in
 * float64. `out` holds 2 · rows doubles.
 */
EXPORT(gradient_row_stats)
void gradient_row_stats(const float *g, const float *dir, double *out, int rows, int size) {
  for (int r = 0; r < rows; r++) {
    const float *gr = g + r * size;
    v128_t sq = wasm_f64x2_splat(0.0), dot = wasm_f64x2_splat(0.0);
    int i = 0;
    for (; i + 4 <= size; i += 4) {
      const v128_t v = wasm_v128_load(gr + i);
      sq = widen_add(sq, wasm_f32x4_mul(v, v));
      if (dir) dot = widen_add(dot, wasm_f32x4_mul(v, wasm_v128_load(dir + i)));
    }
    double s = wasm_f64x2_extract_lane(sq, 0) + wasm_f64x2_extract_lane(sq, 1);
    double d = wasm_f64x2_extract_lane(dot, 0) + wasm_f64x2_extract_lane(dot, 1);
    for (; i < size; i++) {
      s += (double)(gr[i] * gr[i]);
      if (dir) d += (double)(gr[i] * dir[i]);
    }
    out[r] = s;
    if (dir) out[rows + r] = d;
  }
}
