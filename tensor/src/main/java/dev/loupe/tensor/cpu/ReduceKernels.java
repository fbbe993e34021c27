package dev.loupe.tensor.cpu;

import static dev.loupe.tensor.cpu.VectorMath.S;

import dev.loupe.tensor.Parallel;
import dev.loupe.tensor.ReduceOp;
import dev.loupe.tensor.Shapes;
import dev.loupe.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Reductions along one dim of a strided operand into a contiguous keepdim output.
 *
 * <p>Two SIMD layouts cover the common cases: the reduced dim contiguous (a row sum, e.g. over the last dim of
 * [rows, d]): several vector accumulators run along it; or the kept positions contiguous (a column sum, e.g. a bias
 * gradient [N, C] summed over N): whole rows of C are accumulated as vectors. Anything else runs a scalar loop in
 * double. Sums accumulate in float lanes but are folded into a running total every {@link #CHUNK} elements, so the
 * rounding error grows like (CHUNK + n / CHUNK)·ε rather than n·ε; max and min propagate NaN.
 */
final class ReduceKernels {
    private static final int L = S.length();
    /** Elements summed in float before they are folded into the running total. */
    private static final int CHUNK = 1024;
    /** About this many elements of work per thread before splitting pays off. */
    private static final int GRAIN = 32768;

    private ReduceKernels() {
    }

    static void reduce(ReduceOp op, Tensor a, int dim, Tensor out) {
        float[] x = Rows.array(a), y = Rows.array(out);
        int size = a.shape()[dim], step = a.strides()[dim];
        if (size == 0 && op != ReduceOp.SUM) {
            throw new IllegalArgumentException(op.name().toLowerCase() + ": dim " + dim + " of shape "
                    + Shapes.format(a.shape()) + " is empty");
        }
        if (size == 0) { // an empty sum; the input may have no storage to view
            ElementwiseKernels.fill(out, 0f);
            return;
        }
        Tensor kept = Rows.dropDim(a, a.shape(), dim), outKept = Rows.dropDim(out, out.shape(), dim);
        Rows.forEach(kept.shape(), kept, outKept, null, (oa, ob, oc, n, sa, sb, sc) -> {
            if (step == 1) {
                Parallel.forRange(n, Math.max(1, GRAIN / size), (from, to) -> {
                    for (int i = from; i < to; i++) y[ob + i * sb] = reduceRow(op, x, oa + i * sa, size);
                });
            } else if (sa == 1 && sb == 1) {
                int blocks = (n + L - 1) / L;
                Parallel.forRange(blocks, Math.max(1, GRAIN / (size * L)), (from, to) -> {
                    int j0 = from * L, j1 = Math.min(n, to * L);
                    reduceColumns(op, x, oa + j0, step, size, y, ob + j0, j1 - j0);
                });
            } else {
                for (int i = 0; i < n; i++) y[ob + i * sb] = reduceStrided(op, x, oa + i * sa, step, size);
            }
        });
    }

    /** op over {@code x[off .. off + size)}, size &gt;= 1. */
    private static float reduceRow(ReduceOp op, float[] x, int off, int size) {
        return switch (op) {
            case SUM -> sumRow(x, off, size);
            case MAX -> maxRow(x, off, size, true);
            case MIN -> maxRow(x, off, size, false);
        };
    }

    private static float sumRow(float[] x, int off, int size) {
        double total = 0;
        int k = 0;
        int bound4 = size - size % (4 * L);
        while (k < bound4) {
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
            for (int end = Math.min(bound4, k + CHUNK); k < end; k += 4 * L) {
                a0 = a0.add(FloatVector.fromArray(S, x, off + k));
                a1 = a1.add(FloatVector.fromArray(S, x, off + k + L));
                a2 = a2.add(FloatVector.fromArray(S, x, off + k + 2 * L));
                a3 = a3.add(FloatVector.fromArray(S, x, off + k + 3 * L));
            }
            total += a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
        }
        float rest = 0f;
        for (; k < size; k++) rest += x[off + k];
        return (float) (total + rest);
    }

    private static float maxRow(float[] x, int off, int size, boolean max) {
        float best = x[off];
        int k = 0;
        if (size >= 2 * L) {
            FloatVector a0 = FloatVector.fromArray(S, x, off), a1 = FloatVector.fromArray(S, x, off + L);
            for (k = 2 * L; k + 2 * L <= size; k += 2 * L) {
                FloatVector v0 = FloatVector.fromArray(S, x, off + k), v1 = FloatVector.fromArray(S, x, off + k + L);
                a0 = max ? a0.max(v0) : a0.min(v0);
                a1 = max ? a1.max(v1) : a1.min(v1);
            }
            FloatVector a = max ? a0.max(a1) : a0.min(a1);
            // Lane-wise max/min keep NaN; the horizontal step must too, so check for it explicitly.
            if (a.test(VectorOperators.IS_NAN).anyTrue()) return Float.NaN;
            best = a.reduceLanes(max ? VectorOperators.MAX : VectorOperators.MIN);
        }
        for (; k < size; k++) best = max ? Math.max(best, x[off + k]) : Math.min(best, x[off + k]);
        return best;
    }

    /**
     * Column reduction: {@code y[yo + j] = op over k of x[xo + k * step + j]} for j in [0, cols), the k loop inside
     * so that each column block stays in registers.
     */
    private static void reduceColumns(ReduceOp op, float[] x, int xo, int step, int size, float[] y, int yo,
                                      int cols) {
        int j = 0;
        for (; j + 2 * L <= cols; j += 2 * L) {
            if (op == ReduceOp.SUM) {
                FloatVector t0 = FloatVector.zero(S), t1 = t0;
                for (int k0 = 0; k0 < size; k0 += CHUNK / L) {
                    FloatVector s0 = FloatVector.zero(S), s1 = s0;
                    for (int k = k0, end = Math.min(size, k0 + CHUNK / L); k < end; k++) {
                        int p = xo + k * step + j;
                        s0 = s0.add(FloatVector.fromArray(S, x, p));
                        s1 = s1.add(FloatVector.fromArray(S, x, p + L));
                    }
                    t0 = t0.add(s0);
                    t1 = t1.add(s1);
                }
                t0.intoArray(y, yo + j);
                t1.intoArray(y, yo + j + L);
            } else {
                boolean max = op == ReduceOp.MAX;
                FloatVector m0 = FloatVector.fromArray(S, x, xo + j), m1 = FloatVector.fromArray(S, x, xo + j + L);
                for (int k = 1; k < size; k++) {
                    int p = xo + k * step + j;
                    FloatVector v0 = FloatVector.fromArray(S, x, p), v1 = FloatVector.fromArray(S, x, p + L);
                    m0 = max ? m0.max(v0) : m0.min(v0);
                    m1 = max ? m1.max(v1) : m1.min(v1);
                }
                m0.intoArray(y, yo + j);
                m1.intoArray(y, yo + j + L);
            }
        }
        for (; j < cols; j++) y[yo + j] = reduceStrided(op, x, xo + j, step, size);
    }

    /** The scalar reference path, any stride; size &gt;= 1. */
    private static float reduceStrided(ReduceOp op, float[] x, int base, int step, int size) {
        double acc = op == ReduceOp.SUM ? 0 : x[base];
        for (int k = 0; k < size; k++) {
            float v = x[base + k * step];
            acc = switch (op) {
                case SUM -> acc + v;
                case MAX -> Float.isNaN(v) || v > acc ? v : acc;
                case MIN -> Float.isNaN(v) || v < acc ? v : acc;
            };
        }
        return (float) acc;
    }

    /**
     * Max (or min) and the index of its first occurrence; a NaN counts as the extreme, so its first index wins.
     */
    static void argReduce(boolean max, Tensor a, int dim, Tensor values, Tensor indices) {
        float[] x = Rows.array(a), v = Rows.array(values), ix = Rows.array(indices);
        int size = a.shape()[dim], step = a.strides()[dim];
        if (size == 0) {
            throw new IllegalArgumentException((max ? "argmax" : "argmin") + ": dim " + dim + " of shape "
                    + Shapes.format(a.shape()) + " is empty");
        }
        Tensor kept = Rows.dropDim(a, a.shape(), dim);
        Tensor keptValues = Rows.dropDim(values, values.shape(), dim);
        Tensor keptIndices = Rows.dropDim(indices, indices.shape(), dim);
        Rows.forEach(kept.shape(), kept, keptValues, keptIndices, (oa, ob, oc, n, sa, sb, sc) -> {
            if (step == 1) {
                Parallel.forRange(n, Math.max(1, GRAIN / size), (from, to) -> {
                    for (int i = from; i < to; i++) {
                        int base = oa + i * sa;
                        int best = argRow(x, base, size, max);
                        v[ob + i * sb] = x[base + best];
                        ix[oc + i * sc] = best;
                    }
                });
            } else if (sa == 1 && sb == 1 && sc == 1) {
                argColumns(max, x, oa, step, size, v, ob, ix, oc, n);
            } else {
                for (int i = 0; i < n; i++) {
                    int base = oa + i * sa;
                    int best = argStrided(x, base, step, size, max);
                    v[ob + i * sb] = x[base + best * step];
                    ix[oc + i * sc] = best;
                }
            }
        });
    }

    /** Index of the first extreme of a contiguous row: its value in SIMD, then a scan for where it occurs. */
    private static int argRow(float[] x, int off, int size, boolean max) {
        float m = maxRow(x, off, size, max);
        if (Float.isNaN(m)) {
            for (int k = 0; k < size; k++) if (Float.isNaN(x[off + k])) return k;
        }
        for (int k = 0; k < size; k++) if (x[off + k] == m) return k;
        return 0; // not reached: m is one of the elements
    }

    private static int argStrided(float[] x, int base, int step, int size, boolean max) {
        int best = 0;
        float bv = x[base];
        for (int k = 1; k < size && !Float.isNaN(bv); k++) {
            float c = x[base + k * step];
            if (Float.isNaN(c) || (max ? c > bv : c < bv)) {
                bv = c;
                best = k;
            }
        }
        return best;
    }

    /** Column arg-reduction: per lane, the best value so far and its index, replaced on strict improvement. */
    private static void argColumns(boolean max, float[] x, int xo, int step, int size, float[] v, int vo, float[] ix,
                                   int io, int cols) {
        int j = 0;
        for (; j + L <= cols; j += L) {
            FloatVector best = FloatVector.fromArray(S, x, xo + j), idx = FloatVector.zero(S);
            for (int k = 1; k < size; k++) {
                FloatVector c = FloatVector.fromArray(S, x, xo + k * step + j);
                VectorMask<Float> better = max ? best.lt(c) : c.lt(best);
                better = better.or(c.test(VectorOperators.IS_NAN).andNot(best.test(VectorOperators.IS_NAN)));
                best = best.blend(c, better);
                idx = idx.blend((float) k, better);
            }
            best.intoArray(v, vo + j);
            idx.intoArray(ix, io + j);
        }
        for (; j < cols; j++) {
            int best = argStrided(x, xo + j, step, size, max);
            v[vo + j] = x[xo + j + best * step];
            ix[io + j] = best;
        }
    }
}
