package dev.loupe.tensor.cpu;

import static dev.loupe.tensor.cpu.VectorMath.S;

import dev.loupe.tensor.BinaryOp;
import dev.loupe.tensor.FloatStorage;
import dev.loupe.tensor.Parallel;
import dev.loupe.tensor.Storage;
import dev.loupe.tensor.Tensor;
import dev.loupe.tensor.UnaryOp;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Elementwise kernels over strided operands (see {@link Rows}). Output operands are written, inputs only read.
 *
 * <p>Per row, operands with stride 1 (contiguous) or 0 (a broadcast scalar, e.g. {@code [B, T, C] * [B, T, 1]})
 * take the SIMD path; any other stride falls back to the one-element definitions in {@link Scalar}. A bias add
 * {@code [B, T, C] + [C]} arrives here as rows of C with every operand at stride 1, since {@link Rows} merges the
 * batch dims of the output and the stride-0 dims of the bias alike.
 */
final class ElementwiseKernels {
    private static final int L = S.length();
    /** Elements per thread below which splitting a row costs more than it saves. */
    private static final int ROW_GRAIN = 1 << 15;

    private ElementwiseKernels() {
    }

    static void copy(Tensor src, Tensor dst) {
        if (!(src.storage() instanceof FloatStorage)) {
            copyWidening(src, dst);
            return;
        }
        float[] s = Rows.array(src), d = Rows.array(dst);
        Rows.forEach(dst.shape(), src, dst, null, (oa, ob, oc, n, sa, sb, sc) -> {
            if (sa == 1 && sb == 1) {
                System.arraycopy(s, oa, d, ob, n);
            } else if (sa == 0 && sb == 1) {
                Arrays.fill(d, ob, ob + n, s[oa]);
            } else {
                for (int i = 0; i < n; i++) d[ob + i * sb] = s[oa + i * sa];
            }
        });
    }

    /**
     * Copy from any other storage (memory-mapped weights, bf16/f16) through {@link dev.loupe.tensor.Storage#read},
     * which widens to float32: stride-1 rows in bulk, other rows element by element.
     */
    private static void copyWidening(Tensor src, Tensor dst) {
        Storage s = src.storage();
        float[] d = Rows.array(dst);
        Rows.forEach(dst.shape(), src, dst, null, (oa, ob, oc, n, sa, sb, sc) -> {
            if (sa == 1 && sb == 1) {
                s.read(oa, d, ob, n);
            } else {
                for (int i = 0; i < n; i++) d[ob + i * sb] = s.get(oa + (long) i * sa);
            }
        });
    }

    static void fill(Tensor dst, float value) {
        float[] d = Rows.array(dst);
        Rows.forEach(dst.shape(), dst, null, null, (oa, ob, oc, n, sa, sb, sc) -> {
            if (sa == 1) {
                Arrays.fill(d, oa, oa + n, value);
            } else {
                for (int i = 0; i < n; i++) d[oa + i * sa] = value;
            }
        });
    }

    static void unary(UnaryOp op, Tensor a, float p0, float p1, Tensor out) {
        float[] x = Rows.array(a), y = Rows.array(out);
        Rows.forEach(out.shape(), a, out, null, (oa, ob, oc, n, sa, sb, sc) -> {
            if (sa == 1 && sb == 1) {
                // Same-layout operands merge into one long row, which Rows cannot split: split it here.
                splitRow(n, (from, len) -> UnaryKernels.row(op, x, oa + from, y, ob + from, len, p0, p1));
            } else if (sa == 0) {
                // A broadcast input: one value for the whole row.
                float v = Scalar.unary(op, x[oa], p0, p1);
                for (int i = 0; i < n; i++) y[ob + i * sb] = v;
            } else {
                for (int i = 0; i < n; i++) y[ob + i * sb] = Scalar.unary(op, x[oa + i * sa], p0, p1);
            }
        });
    }

    static void binary(BinaryOp op, Tensor a, Tensor b, Tensor out) {
        float[] x = Rows.array(a), z = Rows.array(b), y = Rows.array(out);
        Rows.forEach(out.shape(), a, b, out, (oa, ob, oc, n, sa, sb, sc) -> {
            if (op == BinaryOp.ADD && sa == 1 && sb == 1 && sc == 1) {
                splitRow(n, (from, len) -> addRow(x, oa + from, z, ob + from, y, oc + from, len));
            } else if (sc == 1 && sa <= 1 && sb <= 1 && op != BinaryOp.POW) {
                splitRow(n, (from, len) -> binaryRow(op, x, oa + from * sa, sa, z, ob + from * sb, sb, y, oc + from, len));
            } else {
                for (int i = 0; i < n; i++) y[oc + i * sc] = Scalar.binary(op, x[oa + i * sa], z[ob + i * sb]);
            }
        });
    }

    /** A piece [from, from + len) of a row. */
    @FunctionalInterface
    private interface RowPiece {
        void run(int from, int len);
    }

    /** Runs a long row as pieces over the cores (whole vectors each), a short one in place. */
    private static void splitRow(int n, RowPiece piece) {
        if (n < 2 * ROW_GRAIN) {
            piece.run(0, n);
            return;
        }
        int blocks = (n + L - 1) / L;
        Parallel.forRange(blocks, ROW_GRAIN / L, (b0, b1) -> piece.run(b0 * L, Math.min(n, b1 * L) - b0 * L));
    }

    /**
     * {@code y = x + z} on contiguous rows: the residual stream's sums, the commonest binary op, in a loop of its own.
     * (In the shared {@link #binaryRow}, profiles under load showed its add running as the Vector API's boxed
     * fallback, several times slower.)
     */
    private static void addRow(float[] x, int oa, float[] z, int ob, float[] y, int oc, int n) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += L) {
            FloatVector.fromArray(S, x, oa + i).add(FloatVector.fromArray(S, z, ob + i)).intoArray(y, oc + i);
        }
        for (; i < n; i++) y[oc + i] = x[oa + i] + z[ob + i];
    }

    /**
     * One contiguous output row; each input has stride 1 or 0 along it. Every op runs in one loop with the op chosen
     * per vector by a switch on a loop-invariant value, not a lambda: a lambda passed to a shared loop makes its call
     * site megamorphic once several ops run, C2 then leaves it out of line and every vector is boxed (the Vector API's
     * slow Java fallback). max/min follow Math.max/min: NaN wins, +0 > -0. Comparisons give 1 where they hold, else
     * 0; with a NaN operand only NE holds, as in Java.
     */
    private static void binaryRow(BinaryOp op, float[] x, int oa, int sa, float[] z, int ob, int sb,
                                  float[] y, int oc, int n) {
        if (op == BinaryOp.POW) throw new AssertionError("pow has no SIMD row");
        FloatVector ka = FloatVector.broadcast(S, x[oa]), kb = FloatVector.broadcast(S, z[ob]);
        for (int i = 0; i < n; i += L) {
            VectorMask<Float> m = S.indexInRange(i, n);
            FloatVector va = sa == 0 ? ka : FloatVector.fromArray(S, x, oa + i, m);
            FloatVector vb = sb == 0 ? kb : FloatVector.fromArray(S, z, ob + i, m);
            FloatVector r = switch (op) {
                case ADD -> va.add(vb);
                case SUB -> va.sub(vb);
                case MUL -> va.mul(vb);
                case DIV -> va.div(vb);
                case MAX -> va.max(vb);
                case MIN -> va.min(vb);
                case EQ -> ones(va.eq(vb));
                case NE -> ones(va.eq(vb).not());
                case LT -> ones(va.lt(vb));
                case LE -> ones(va.compare(VectorOperators.LE, vb));
                case GT -> ones(vb.lt(va));
                case GE -> ones(va.compare(VectorOperators.GE, vb));
                case POW -> throw new AssertionError("unreachable");
            };
            r.intoArray(y, oc + i, m);
        }
    }

    private static FloatVector ones(VectorMask<Float> m) {
        return FloatVector.zero(S).blend(1f, m);
    }

    static void where(Tensor cond, Tensor a, Tensor b, Tensor out) {
        float[] c = Rows.array(cond), x = Rows.array(a), z = Rows.array(b), y = Rows.array(out);
        Rows.forEach(out.shape(), cond, a, b, out, (oc, oa, ob, oy, n, sc, sa, sb, sy) -> {
            if (sy == 1 && sc <= 1 && sa <= 1 && sb <= 1) {
                whereRow(c, oc, sc, x, oa, sa, z, ob, sb, y, oy, n);
            } else {
                for (int i = 0; i < n; i++) y[oy + i * sy] = c[oc + i * sc] != 0f ? x[oa + i * sa] : z[ob + i * sb];
            }
        });
    }

    /** {@code y = c != 0 ? a : b} on one contiguous output row; each input has stride 1 or 0 along it. */
    private static void whereRow(float[] c, int oc, int sc, float[] x, int oa, int sa, float[] z, int ob, int sb,
                                 float[] y, int oy, int n) {
        FloatVector kc = FloatVector.broadcast(S, c[oc]);
        FloatVector ka = FloatVector.broadcast(S, x[oa]), kb = FloatVector.broadcast(S, z[ob]);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += L) {
            FloatVector vc = sc == 0 ? kc : FloatVector.fromArray(S, c, oc + i);
            FloatVector va = sa == 0 ? ka : FloatVector.fromArray(S, x, oa + i);
            FloatVector vb = sb == 0 ? kb : FloatVector.fromArray(S, z, ob + i);
            vb.blend(va, vc.eq(0f).not()).intoArray(y, oy + i);
        }
        if (i < n) {
            VectorMask<Float> m = S.indexInRange(i, n);
            FloatVector vc = sc == 0 ? kc : FloatVector.fromArray(S, c, oc + i, m);
            FloatVector va = sa == 0 ? ka : FloatVector.fromArray(S, x, oa + i, m);
            FloatVector vb = sb == 0 ? kb : FloatVector.fromArray(S, z, ob + i, m);
            vb.blend(va, vc.eq(0f).not()).intoArray(y, oy + i, m);
        }
    }
}
