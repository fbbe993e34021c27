package dev.loupe.tensor.cpu;

import dev.loupe.tensor.FloatStorage;
import dev.loupe.tensor.Parallel;
import dev.loupe.tensor.Shapes;
import dev.loupe.tensor.Tensor;

/**
 * Walks up to four same-shape strided operands row by row. Adjacent dims that are laid out contiguously in every
 * operand are merged first, so same-shape contiguous operands become one long row; the last (merged) dim is the row.
 * The body then sees, per row, each operand's start offset and its stride along the row, which is where SIMD fast
 * paths (stride 1) and broadcasts (stride 0) are told apart.
 */
final class Rows {
    private Rows() {
    }

    /** One row of {@code n} elements: offsets and row strides of operands a, b, c (0s for absent operands). */
    @FunctionalInterface
    interface Body {
        void row(int oa, int ob, int oc, int n, int sa, int sb, int sc);
    }

    /** One row of {@code n} elements of four operands. */
    @FunctionalInterface
    interface Body4 {
        void row(int oa, int ob, int oc, int od, int n, int sa, int sb, int sc, int sd);
    }

    /** The float array behind a CPU tensor, or an exception naming the storage it has instead. */
    static float[] array(Tensor t) {
        if (t.storage() instanceof FloatStorage fs) return fs.array();
        throw new IllegalArgumentException("CPU kernel needs float32 heap storage but got " + t.storage().dtype()
                + " on " + t.storage().device() + " (convert with contiguous() on a CPU float32 copy first)");
    }

    /**
     * A view of {@code t} whose geometry is {@code shape} with {@code dim} removed, and {@code t}'s strides with
     * {@code dim} removed: the positions a kernel walks while it loops over {@code dim} itself. Same storage.
     */
    static Tensor dropDim(Tensor t, int[] shape, int dim) {
        return Tensor.fromStorage(t.storage(), Shapes.remove(shape, dim), Shapes.remove(t.strides(), dim), t.offset());
    }

    /**
     * Calls {@code body} for every row of {@code shape}; operands b and c may be null. Rows are split over threads
     * when there are many elements, so {@code body} must only write to disjoint rows.
     */
    static void forEach(int[] shape, Tensor a, Tensor b, Tensor c, Body body) {
        forEach(shape, a, b, c, null, (oa, ob, oc, od, n, sa, sb, sc, sd) -> body.row(oa, ob, oc, n, sa, sb, sc));
    }

    /** As {@link #forEach(int[], Tensor, Tensor, Tensor, Body)} with a fourth operand (may be null). */
    static void forEach(int[] shape, Tensor a, Tensor b, Tensor c, Tensor d, Body4 body) {
        final int k4 = 4;
        int rank = shape.length;
        Tensor[] ops = {a, b, c, d};
        int[][] strides = new int[k4][];
        for (int k = 0; k < k4; k++) strides[k] = ops[k] == null ? new int[rank] : ops[k].strides();
        // Merge dim i into dim i+1 where every operand has stride[i] == stride[i+1] * shape[i+1].
        int[] dims = new int[Math.max(rank, 1)];
        int[][] st = new int[k4][Math.max(rank, 1)];
        int m = 0;
        if (rank == 0) {
            dims[0] = 1;
            m = 1;
        }
        for (int i = 0; i < rank; i++) {
            if (shape[i] == 1) continue;
            if (m > 0) {
                boolean merge = true;
                for (int k = 0; k < k4; k++) {
                    if (st[k][m - 1] != strides[k][i] * shape[i]) merge = false;
                }
                if (merge) {
                    dims[m - 1] *= shape[i];
                    for (int k = 0; k < k4; k++) st[k][m - 1] = strides[k][i];
                    continue;
                }
            }
            dims[m] = shape[i];
            for (int k = 0; k < k4; k++) st[k][m] = strides[k][i];
            m++;
        }
        if (m == 0) { // all dims of size 1
            dims[0] = 1;
            m = 1;
        }
        final int mm = m;
        int n = dims[mm - 1];
        int rows = 1;
        for (int i = 0; i < mm - 1; i++) rows *= dims[i];
        if (n == 0 || rows == 0) return;
        int oa0 = a.offset(), ob0 = b == null ? 0 : b.offset(), oc0 = c == null ? 0 : c.offset();
        int od0 = d == null ? 0 : d.offset();
        int sa = st[0][mm - 1], sb = st[1][mm - 1], sc = st[2][mm - 1], sd = st[3][mm - 1];
        int grain = Math.max(1, 32768 / n);
        Parallel.forRange(rows, grain, (from, to) -> {
            for (int r = from; r < to; r++) {
                int oa = oa0, ob = ob0, oc = oc0, od = od0, rem = r;
                for (int i = mm - 2; i >= 0; i--) {
                    int idx = rem % dims[i];
                    rem /= dims[i];
                    oa += idx * st[0][i];
                    ob += idx * st[1][i];
                    oc += idx * st[2][i];
                    od += idx * st[3][i];
                }
                body.row(oa, ob, oc, od, n, sa, sb, sc, sd);
            }
        });
    }
}
