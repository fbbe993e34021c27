package dev.loupe.tensor.cpu;

import dev.loupe.tensor.BinaryOp;
import dev.loupe.tensor.Tensor;
import dev.loupe.tensor.UnaryOp;

/** Elementwise kernels over strided operands (see {@link Rows}). Output operands are written, inputs only read. */
final class ElementwiseKernels {
    private ElementwiseKernels() {
    }

    static void copy(Tensor src, Tensor dst) {
        float[] s = Rows.array(src), d = Rows.array(dst);
        Rows.forEach(dst.shape(), src, dst, null, (oa, ob, oc, n, sa, sb, sc) -> {
            if (sa == 1 && sb == 1) {
                System.arraycopy(s, oa, d, ob, n);
            } else {
                for (int i = 0; i < n; i++) d[ob + i * sb] = s[oa + i * sa];
            }
        });
    }

    static void fill(Tensor dst, float value) {
        float[] d = Rows.array(dst);
        Rows.forEach(dst.shape(), dst, null, null, (oa, ob, oc, n, sa, sb, sc) -> {
            for (int i = 0; i < n; i++) d[oa + i * sa] = value;
        });
    }

    static void unary(UnaryOp op, Tensor a, float p0, float p1, Tensor out) {
        float[] x = Rows.array(a), y = Rows.array(out);
        Rows.forEach(out.shape(), a, out, null, (oa, ob, oc, n, sa, sb, sc) -> {
            for (int i = 0; i < n; i++) y[ob + i * sb] = Scalar.unary(op, x[oa + i * sa], p0, p1);
        });
    }

    static void binary(BinaryOp op, Tensor a, Tensor b, Tensor out) {
        float[] x = Rows.array(a), z = Rows.array(b), y = Rows.array(out);
        Rows.forEach(out.shape(), a, b, out, (oa, ob, oc, n, sa, sb, sc) -> {
            for (int i = 0; i < n; i++) y[oc + i * sc] = Scalar.binary(op, x[oa + i * sa], z[ob + i * sb]);
        });
    }

    static void where(Tensor cond, Tensor a, Tensor b, Tensor out) {
        float[] c = Rows.array(cond), x = Rows.array(a), z = Rows.array(b), y = Rows.array(out);
        Rows.forEach(out.shape(), cond, a, b, out, (oc, oa, ob, oy, n, sc, sa, sb, sy) -> {
            for (int i = 0; i < n; i++) y[oy + i * sy] = c[oc + i * sc] != 0f ? x[oa + i * sa] : z[ob + i * sb];
        });
    }
}
