/**
 * Pattern estimators (Kindermans et al. 2018) from streaming float64 sums.
 *
 * A kernel layer is seen as G independent groups (1 for Dense/Conv2D, one per input channel for
 * DepthwiseConv2D) of rows x ∈ ℝⁿ (the layer input, or an input patch) with outputs y = Wᵀx ∈ ℝᵐ
 * (pre-activation WITHOUT bias). Sums are kept of shifted values x' = x − Kx, y' = y − Ky (Kx, Ky: the
 * first batch's means), which changes no estimate but avoids the cancellation of E[xy] − E[x]E[y].
 *
 * - linear:        a = cov[x, y] / (wᵀ cov[x, y])
 * - two-component: a₊ = (E₊[xy] − E₊[x]E[y]) / wᵀ(E₊[xy] − E₊[x]E[y]), E₊ over rows where the unit is
 *   active (pre-activation with bias > 0), E[y] over all rows. In shifted sums:
 *   E₊[xy] − E₊[x]E[y] = E₊[x'y'] − E₊[x']E[y'] + Kx (E₊[y'] − E[y']).
 * Division is safe: a unit that is never active, or whose denominator vanishes, gets a zero pattern.
 */

export type EstimatorName = 'two-component' | 'linear';

export interface GroupShape {
  groups: number;
  /** Row length (fan-in per group). */
  n: number;
  /** Outputs per group. */
  m: number;
}

/** Running float64 sums for one kernel layer. */
export class PatternStats {
  rows = 0;
  shiftX: Float64Array | null = null;
  shiftY: Float64Array | null = null;
  readonly sumX: Float64Array;
  readonly sumY: Float64Array;
  readonly sumXY: Float64Array;
  readonly activeCount: Float64Array;
  readonly sumXActive: Float64Array;
  readonly sumXYActive: Float64Array;
  readonly sumYActive: Float64Array;

  constructor(
    readonly shape: GroupShape,
    /** Which estimator these sums serve ('two-component' only for ReLU-gated layers). */
    readonly estimator: EstimatorName,
  ) {
    const { groups: g, n, m } = shape;
    const linear = estimator === 'linear';
    this.sumY = new Float64Array(g * m);
    this.sumX = new Float64Array(linear ? g * n : 0);
    this.sumXY = new Float64Array(linear ? g * n * m : 0);
    this.activeCount = new Float64Array(linear ? 0 : g * m);
    this.sumXActive = new Float64Array(linear ? 0 : g * n * m);
    this.sumXYActive = new Float64Array(linear ? 0 : g * n * m);
    this.sumYActive = new Float64Array(linear ? 0 : g * m);
  }

  /** Adds one batch's float32 partial sums (all of shifted values) into the float64 totals. */
  add(batch: {
    rows: number;
    sumX?: ArrayLike<number>;
    sumY: ArrayLike<number>;
    sumXY?: ArrayLike<number>;
    activeCount?: ArrayLike<number>;
    sumXActive?: ArrayLike<number>;
    sumXYActive?: ArrayLike<number>;
    sumYActive?: ArrayLike<number>;
  }): void {
    this.rows += batch.rows;
    const acc = (into: Float64Array, from: ArrayLike<number> | undefined) => {
      if (!from) return;
      for (let i = 0; i < into.length; i++) into[i] += from[i]!;
    };
    acc(this.sumY, batch.sumY);
    acc(this.sumX, batch.sumX);
    acc(this.sumXY, batch.sumXY);
    acc(this.activeCount, batch.activeCount);
    acc(this.sumXActive, batch.sumXActive);
    acc(this.sumXYActive, batch.sumXYActive);
    acc(this.sumYActive, batch.sumYActive);
  }

  /**
   * The pattern, laid out [G, n, m] (group, fan-in, output), from the sums and the layer's kernel W
   * in the same layout.
   */
  pattern(kernel: ArrayLike<number>): Float64Array {
    const { groups: G, n, m } = this.shape;
    const N = this.rows;
    const out = new Float64Array(G * n * m);
    if (N === 0) return out;
    const kx = this.shiftX ?? new Float64Array(G * n);
    const numerator = new Float64Array(n);
    for (let g = 0; g < G; g++) {
      for (let j = 0; j < m; j++) {
        const meanY = this.sumY[g * m + j]! / N;
        let scale = 0;
        if (this.estimator === 'linear') {
          for (let i = 0; i < n; i++) {
            const at = (g * n + i) * m + j;
            numerator[i] = this.sumXY[at]! / N - (this.sumX[g * n + i]! / N) * meanY;
          }
        } else {
          const active = this.activeCount[g * m + j]!;
          if (active === 0) continue;
          const meanYActive = this.sumYActive[g * m + j]! / active;
          for (let i = 0; i < n; i++) {
            const at = (g * n + i) * m + j;
            numerator[i] =
              this.sumXYActive[at]! / active - (this.sumXActive[at]! / active) * meanY + kx[g * n + i]! * (meanYActive - meanY);
          }
        }
        let denominator = 0;
        for (let i = 0; i < n; i++) {
          const term = kernel[(g * n + i) * m + j]! * numerator[i]!;
          denominator += term;
          scale += Math.abs(term);
        }
        // Safe division: no signal in this unit (dead, constant input, or a vanishing denominator) → 0.
        if (!(Math.abs(denominator) > 1e-12 * scale) || !Number.isFinite(denominator)) continue;
        for (let i = 0; i < n; i++) out[(g * n + i) * m + j] = numerator[i]! / denominator;
      }
    }
    return out;
  }
}
