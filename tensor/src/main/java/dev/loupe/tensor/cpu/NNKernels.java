package dev.loupe.tensor.cpu;

import dev.loupe.tensor.Parallel;
import dev.loupe.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Softmax and layerNorm over the last dim of contiguous [rows, d] operands, forward and backward, SIMD within a row
 * and parallel over rows. Each row is independent, so results do not depend on the thread count (except the
 * layerNorm weight/bias gradients, which sum partials in a fixed chunk order).
 */
final class NNKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    /** Rows per task: enough elements that the fork/join overhead is small. */
    private static final int GRAIN_ELEMENTS = 16384;

    private NNKernels() {
    }

    private static int grain(int d) {
        return Math.max(1, GRAIN_ELEMENTS / Math.max(1, d));
    }

    // ---------------------------------------------------------------- row reductions

    /** Max of x[off .. off + n); nan if any element is nan; -inf for n == 0. */
    static float rowMax(float[] x, int off, int n) {
        FloatVector m0 = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY), m1 = m0;
        int i = 0;
        for (; i + 2 * L <= n; i += 2 * L) {
            m0 = m0.max(FloatVector.fromArray(F, x, off + i));
            m1 = m1.max(FloatVector.fromArray(F, x, off + i + L));
        }
        float m = m0.max(m1).reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) m = Math.max(m, x[off + i]);
        return m;
    }

    /** Sum of x[off .. off + n), four accumulators for instruction-level parallelism. */
    private static float rowSum(float[] x, int off, int n) {
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        int i = 0;
        for (; i + 4 * L <= n; i += 4 * L) {
            s0 = s0.add(FloatVector.fromArray(F, x, off + i));
            s1 = s1.add(FloatVector.fromArray(F, x, off + i + L));
            s2 = s2.add(FloatVector.fromArray(F, x, off + i + 2 * L));
            s3 = s3.add(FloatVector.fromArray(F, x, off + i + 3 * L));
        }
        for (; i + L <= n; i += L) s0 = s0.add(FloatVector.fromArray(F, x, off + i));
        float s = s0.add(s1).add(s2.add(s3)).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) s += x[off + i];
        return s;
    }

    /** Σ (x[i] - c) over n elements, four accumulators. */
    private static float rowSumShifted(float[] x, int off, int n, float c) {
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        int i = 0;
        for (; i + 4 * L <= n; i += 4 * L) {
            s0 = s0.add(FloatVector.fromArray(F, x, off + i).sub(c));
            s1 = s1.add(FloatVector.fromArray(F, x, off + i + L).sub(c));
            s2 = s2.add(FloatVector.fromArray(F, x, off + i + 2 * L).sub(c));
            s3 = s3.add(FloatVector.fromArray(F, x, off + i + 3 * L).sub(c));
        }
        for (; i + L <= n; i += L) s0 = s0.add(FloatVector.fromArray(F, x, off + i).sub(c));
        float s = s0.add(s1).add(s2.add(s3)).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) s += x[off + i] - c;
        return s;
    }

    /** Σ a[i] * b[i] over n elements. */
    static float rowDot(float[] a, int oa, float[] b, int ob, int n) {
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        int i = 0;
        for (; i + 4 * L <= n; i += 4 * L) {
            s0 = FloatVector.fromArray(F, a, oa + i).fma(FloatVector.fromArray(F, b, ob + i), s0);
            s1 = FloatVector.fromArray(F, a, oa + i + L).fma(FloatVector.fromArray(F, b, ob + i + L), s1);
            s2 = FloatVector.fromArray(F, a, oa + i + 2 * L).fma(FloatVector.fromArray(F, b, ob + i + 2 * L), s2);
            s3 = FloatVector.fromArray(F, a, oa + i + 3 * L).fma(FloatVector.fromArray(F, b, ob + i + 3 * L), s3);
        }
        for (; i + L <= n; i += L) s0 = FloatVector.fromArray(F, a, oa + i).fma(FloatVector.fromArray(F, b, ob + i), s0);
        float s = s0.add(s1).add(s2.add(s3)).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) s += a[oa + i] * b[ob + i];
        return s;
    }

    /** Σ (x[i] - c)^2 over n elements. */
    private static float rowSquaredDeviation(float[] x, int off, int n, float c) {
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        int i = 0;
        for (; i + 4 * L <= n; i += 4 * L) {
            FloatVector d0 = FloatVector.fromArray(F, x, off + i).sub(c);
            FloatVector d1 = FloatVector.fromArray(F, x, off + i + L).sub(c);
            FloatVector d2 = FloatVector.fromArray(F, x, off + i + 2 * L).sub(c);
            FloatVector d3 = FloatVector.fromArray(F, x, off + i + 3 * L).sub(c);
            s0 = d0.fma(d0, s0);
            s1 = d1.fma(d1, s1);
            s2 = d2.fma(d2, s2);
            s3 = d3.fma(d3, s3);
        }
        for (; i + L <= n; i += L) {
            FloatVector d0 = FloatVector.fromArray(F, x, off + i).sub(c);
            s0 = d0.fma(d0, s0);
        }
        float s = s0.add(s1).add(s2.add(s3)).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            float v = x[off + i] - c;
            s += v * v;
        }
        return s;
    }

    // ---------------------------------------------------------------- softmax

    /**
     * a, out: contiguous [rows, d], not overlapping (out is scratch while a row is computed). Softmax: out = exp(x - max) / Σ exp(x - max). Log-softmax: out = x - max -
     * log Σ exp(x - max). Subtracting the row max keeps exp in range for any finite inputs. A row whose max is
     * -inf (fully masked) or +inf, or that holds a nan, comes out nan, as in PyTorch.
     */
    static void softmax(Tensor a, boolean log, Tensor out) {
        float[] x = Rows.array(a), y = Rows.array(out);
        int d = a.rank() == 0 ? 1 : a.shape()[a.rank() - 1];
        if (d == 0) return;
        int rows = a.numel() / d, xo = a.offset(), yo = out.offset();
        Parallel.forRange(rows, grain(d), (from, to) -> {
            for (int r = from; r < to; r++) {
                int xr = xo + r * d, yr = yo + r * d;
                float max = rowMax(x, xr, d);
                if (log) {
                    // (x - max) - log Σ, not x - (max + log Σ): the sum would round at the scale of max.
                    // y serves as scratch for the exps before subtract() overwrites it.
                    float logSum = (float) Math.log(VectorMath.expShiftedRow(x, xr, max, y, yr, d));
                    subtract(x, xr, d, max, logSum, y, yr);
                } else {
                    float sum = VectorMath.expShiftedRow(x, xr, max, y, yr, d);
                    scale(y, yr, d, 1f / sum);
                }
            }
        });
    }

    /** y[i] = (x[i] - c1) - c2 over n elements. */
    private static void subtract(float[] x, int xo, int n, float c1, float c2, float[] y, int yo) {
        int i = 0;
        for (; i < F.loopBound(n); i += L) FloatVector.fromArray(F, x, xo + i).sub(c1).sub(c2).intoArray(y, yo + i);
        for (; i < n; i++) y[yo + i] = (x[xo + i] - c1) - c2;
    }

    /** y[i] *= c over n elements. */
    static void scale(float[] y, int yo, int n, float c) {
        int i = 0;
        for (; i < F.loopBound(n); i += L) FloatVector.fromArray(F, y, yo + i).mul(c).intoArray(y, yo + i);
        for (; i < n; i++) y[yo + i] *= c;
    }

    /**
     * y, gy, gx: contiguous [rows, d], gx overlapping neither (it is scratch while a row is computed). Softmax:
     * gx = y * (gy - Σ gy * y). Log-softmax: gx = gy - exp(y) * Σ gy.
     */
    static void softmaxBackward(Tensor yT, Tensor gyT, boolean log, Tensor gxT) {
        float[] y = Rows.array(yT), gy = Rows.array(gyT), gx = Rows.array(gxT);
        int d = yT.rank() == 0 ? 1 : yT.shape()[yT.rank() - 1];
        if (d == 0) return;
        int rows = yT.numel() / d, yo = yT.offset(), go = gyT.offset(), xo = gxT.offset();
        Parallel.forRange(rows, grain(d), (from, to) -> {
            for (int r = from; r < to; r++) {
                int yr = yo + r * d, gr = go + r * d, xr = xo + r * d;
                int i = 0;
                if (log) {
                    float s = rowSum(gy, gr, d);
                    // exp(y) into gx (scratch, as the forward uses y) through the row kernel, whose exp is written
                    // out in its loop: a loop calling VectorMath.exp boxes its vectors once C2 declines to inline it
                    // (see expShiftedRow). Masked throughout there, so the tail rounds as the body does.
                    VectorMath.expShiftedRow(y, yr, 0f, gx, xr, d);
                    for (; i < F.loopBound(d); i += L) {
                        FloatVector e = FloatVector.fromArray(F, gx, xr + i);
                        e.mul(-s).add(FloatVector.fromArray(F, gy, gr + i)).intoArray(gx, xr + i);
                    }
                    for (; i < d; i++) gx[xr + i] = gx[xr + i] * -s + gy[gr + i];
                } else {
                    float dot = rowDot(gy, gr, y, yr, d);
                    for (; i < F.loopBound(d); i += L) {
                        FloatVector yv = FloatVector.fromArray(F, y, yr + i);
                        FloatVector.fromArray(F, gy, gr + i).sub(dot).mul(yv).intoArray(gx, xr + i);
                    }
                    for (; i < d; i++) gx[xr + i] = y[yr + i] * (gy[gr + i] - dot);
                }
            }
        });
    }

    // ---------------------------------------------------------------- layerNorm

    /** The elements of a [d] operand as a dense array starting at 0 (a copy unless it already is one). */
    private static float[] dense(Tensor t) {
        if (t == null) return null;
        float[] a = Rows.array(t);
        if (t.isContiguous() && t.offset() == 0 && a.length == t.numel()) return a;
        return t.toFloatArray();
    }

    /**
     * x, out: contiguous [rows, d]; weight, bias: [d] or null; mean, rstd: contiguous [rows]. Two passes for the
     * statistics (mean, then Σ (x - mean)^2) rather than Σ x^2 - mean^2, which cancels badly when |mean| >> std.
     */
    static void layerNorm(Tensor xT, Tensor weight, Tensor bias, float eps, Tensor outT, Tensor meanT, Tensor rstdT) {
        float[] x = Rows.array(xT), y = Rows.array(outT), mean = Rows.array(meanT), rstd = Rows.array(rstdT);
        float[] w = dense(weight), b = dense(bias);
        int d = xT.shape()[xT.rank() - 1];
        int rows = d == 0 ? 0 : xT.numel() / d;
        int xo = xT.offset(), yo = outT.offset(), mo = meanT.offset(), ro = rstdT.offset();
        Parallel.forRange(rows, grain(d), (from, to) -> {
            for (int r = from; r < to; r++) {
                int xr = xo + r * d, yr = yo + r * d;
                // Summing x - x[0] rather than x keeps the terms small when |mean| >> std, so the float sum
                // loses little; the mean feeds every output, so its rounding matters most.
                float pivot = x[xr];
                float mu = pivot + rowSumShifted(x, xr, d, pivot) / d;
                float var = rowSquaredDeviation(x, xr, d, mu) / d;
                float rs = (float) (1 / Math.sqrt(var + eps));
                mean[mo + r] = mu;
                rstd[ro + r] = rs;
                normalizeRow(x, xr, d, mu, rs, w, b, y, yr);
            }
        });
    }

    /** y = (x - mu) * rs * w + b, with w and b optional. */
    private static void normalizeRow(float[] x, int xr, int d, float mu, float rs, float[] w, float[] b,
                                     float[] y, int yr) {
        int i = 0;
        for (; i < F.loopBound(d); i += L) {
            FloatVector v = FloatVector.fromArray(F, x, xr + i).sub(mu).mul(rs);
            if (w != null) v = v.mul(FloatVector.fromArray(F, w, i));
            if (b != null) v = v.add(FloatVector.fromArray(F, b, i));
            v.intoArray(y, yr + i);
        }
        for (; i < d; i++) {
            float v = (x[xr + i] - mu) * rs;
            if (w != null) v *= w[i];
            if (b != null) v += b[i];
            y[yr + i] = v;
        }
    }

    /**
     * x, gy, gx: contiguous [rows, d]; weight [d] or null; mean, rstd: [rows] from the forward pass; gWeight, gBias:
     * contiguous [d] or null, added to. With xhat = (x - mean) * rstd and g = gy * weight:
     * gx = rstd * (g - mean(g) - xhat * mean(g * xhat)); gWeight += Σ_rows gy * xhat; gBias += Σ_rows gy.
     * The two sums over rows go into one partial per chunk of rows, added up in chunk order so the result is the
     * same on every run.
     */
    static void layerNormBackward(Tensor xT, Tensor weight, Tensor meanT, Tensor rstdT, Tensor gyT,
                                  Tensor gxT, Tensor gWeightT, Tensor gBiasT) {
        float[] x = Rows.array(xT), gy = Rows.array(gyT), gx = Rows.array(gxT);
        float[] mean = Rows.array(meanT), rstd = Rows.array(rstdT), w = dense(weight);
        int d = xT.shape()[xT.rank() - 1];
        int rows = d == 0 ? 0 : xT.numel() / d;
        int xo = xT.offset(), go = gyT.offset(), gxo = gxT.offset(), mo = meanT.offset(), ro = rstdT.offset();
        boolean wantParams = gWeightT != null || gBiasT != null;
        int chunks = Math.max(1, Math.min(rows, Parallel.threads()));
        float[][] partW = new float[chunks][], partB = new float[chunks][];
        Parallel.forRange(chunks, 1, (c0, c1) -> {
            float[] xhat = new float[d], g = new float[d];
            for (int c = c0; c < c1; c++) {
                float[] pw = wantParams ? new float[d] : null, pb = wantParams ? new float[d] : null;
                int from = (int) ((long) rows * c / chunks), to = (int) ((long) rows * (c + 1) / chunks);
                for (int r = from; r < to; r++) {
                    backwardRow(x, xo + r * d, gy, go + r * d, w, mean[mo + r], rstd[ro + r], d, xhat, g,
                            gx, gxo + r * d, pw, pb);
                }
                partW[c] = pw;
                partB[c] = pb;
            }
        });
        if (gWeightT != null) addPartials(partW, gWeightT, d);
        if (gBiasT != null) addPartials(partB, gBiasT, d);
    }

    private static void backwardRow(float[] x, int xr, float[] gy, int gr, float[] w, float mu, float rs, int d,
                                    float[] xhat, float[] g, float[] gx, int gxr, float[] pw, float[] pb) {
        int i = 0;
        for (; i < F.loopBound(d); i += L) {
            FloatVector xh = FloatVector.fromArray(F, x, xr + i).sub(mu).mul(rs);
            FloatVector gv = FloatVector.fromArray(F, gy, gr + i);
            xh.intoArray(xhat, i);
            if (pw != null) {
                xh.fma(gv, FloatVector.fromArray(F, pw, i)).intoArray(pw, i);
                gv.add(FloatVector.fromArray(F, pb, i)).intoArray(pb, i);
            }
            (w == null ? gv : gv.mul(FloatVector.fromArray(F, w, i))).intoArray(g, i);
        }
        for (; i < d; i++) {
            float xh = (x[xr + i] - mu) * rs, gv = gy[gr + i];
            xhat[i] = xh;
            if (pw != null) {
                pw[i] += xh * gv;
                pb[i] += gv;
            }
            g[i] = w == null ? gv : gv * w[i];
        }
        float meanG = rowSum(g, 0, d) / d;
        float meanGX = rowDot(g, 0, xhat, 0, d) / d;
        i = 0;
        for (; i < F.loopBound(d); i += L) {
            FloatVector xh = FloatVector.fromArray(F, xhat, i);
            FloatVector.fromArray(F, g, i).sub(meanG).sub(xh.mul(meanGX)).mul(rs).intoArray(gx, gxr + i);
        }
        for (; i < d; i++) gx[gxr + i] = (g[i] - meanG - xhat[i] * meanGX) * rs;
    }

    /** dst[0 .. d) (any [d] view) += Σ over non-null partials, in order. */
    private static void addPartials(float[][] parts, Tensor dstT, int d) {
        float[] dst = Rows.array(dstT);
        int off = dstT.offset(), stride = dstT.rank() == 0 ? 1 : dstT.strides()[dstT.rank() - 1];
        for (int i = 0; i < d; i++) {
            float s = 0;
            for (float[] p : parts) {
                if (p != null) s += p[i];
            }
            dst[off + i * stride] += s;
        }
    }
}
