package dev.loupe.tensor.cpu;

import dev.loupe.tensor.ReduceOp;
import dev.loupe.tensor.Shapes;
import dev.loupe.tensor.Tensor;

/** Reductions along one dim of a strided operand into a contiguous keepdim output. */
final class ReduceKernels {
    private ReduceKernels() {
    }

    /** {@code t} with {@code dim} dropped from its geometry (same storage), for walking the kept positions. */
    static Tensor dropDim(Tensor t, int dim) {
        return Tensor.fromStorage(t.storage(), Shapes.remove(t.shape(), dim), Shapes.remove(t.strides(), dim),
                t.offset());
    }

    static void reduce(ReduceOp op, Tensor a, int dim, Tensor out) {
        float[] x = Rows.array(a), y = Rows.array(out);
        int size = a.shape()[dim], step = a.strides()[dim];
        Tensor kept = dropDim(a, dim), outKept = dropDim(out, dim);
        Rows.forEach(kept.shape(), kept, outKept, null, (oa, ob, oc, n, sa, sb, sc) -> {
            for (int i = 0; i < n; i++) {
                int base = oa + i * sa;
                double acc = op == ReduceOp.SUM ? 0 : x[base];
                for (int k = 0; k < size; k++) {
                    float v = x[base + k * step];
                    acc = switch (op) {
                        case SUM -> acc + v;
                        case MAX -> Float.isNaN(v) || v > acc ? v : acc;
                        case MIN -> Float.isNaN(v) || v < acc ? v : acc;
                    };
                }
                y[ob + i * sb] = (float) acc;
            }
        });
    }

    static void argReduce(boolean max, Tensor a, int dim, Tensor values, Tensor indices) {
        float[] x = Rows.array(a), v = Rows.array(values), ix = Rows.array(indices);
        int size = a.shape()[dim], step = a.strides()[dim];
        if (size == 0) throw new IllegalArgumentException((max ? "argmax" : "argmin") + ": empty dim " + dim);
        Tensor kept = dropDim(a, dim);
        Rows.forEach(kept.shape(), kept, dropDim(values, dim), dropDim(indices, dim), (oa, ob, oc, n, sa, sb, sc) -> {
            for (int i = 0; i < n; i++) {
                int base = oa + i * sa, best = 0;
                float bv = x[base];
                for (int k = 1; k < size && !Float.isNaN(bv); k++) {
                    float c = x[base + k * step];
                    if (Float.isNaN(c) || (max ? c > bv : c < bv)) {
                        bv = c;
                        best = k;
                    }
                }
                v[ob + i * sb] = bv;
                ix[oc + i * sc] = best;
            }
        });
    }
}
