package dev.loupe.tensor.cpu;

import dev.loupe.tensor.Shapes;
import dev.loupe.tensor.Tensor;
import java.util.Arrays;

/**
 * Index-driven kernels over strided operands. Index operands hold whole numbers as float32, already validated by
 * the caller. Each kernel walks the positions of every dim except the indexed one (split over threads by
 * {@link Rows}) and, inside, loops over the indexed dim; two positions that differ outside the indexed dim never
 * touch the same output element, so the accumulating kernels need no locks and add in a fixed order.
 */
final class IndexKernels {
    private IndexKernels() {
    }

    /** The values of a rank-0 or rank-1 index tensor as ints. */
    private static int[] ints(Tensor index) {
        float[] v = index.toFloatArray();
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) out[i] = (int) v[i];
        return out;
    }

    /** out[..., i, ...] = a[..., index[i], ...] along {@code dim}; index [n]. */
    static void indexSelect(Tensor a, int dim, Tensor index, Tensor out) {
        float[] x = Rows.array(a), y = Rows.array(out);
        int[] idx = ints(index);
        int as = a.strides()[dim], os = out.strides()[dim];
        int[] shape = out.shape();
        Rows.forEach(Shapes.remove(shape, dim), Rows.dropDim(a, shape, dim), Rows.dropDim(out, shape, dim), null,
                (oa, ob, oc, n, sa, sb, sc) -> {
                    for (int i = 0; i < idx.length; i++) {
                        int from = oa + idx[i] * as, to = ob + i * os;
                        if (sa == 1 && sb == 1) {
                            System.arraycopy(x, from, y, to, n);
                        } else {
                            for (int j = 0; j < n; j++) y[to + j * sb] = x[from + j * sa];
                        }
                    }
                });
    }

    /** dst[..., index[i], ...] += src[..., i, ...] along {@code dim}; index [n]; repeated indices accumulate. */
    static void indexAdd(Tensor dst, int dim, Tensor index, Tensor src) {
        float[] x = Rows.array(src), y = Rows.array(dst);
        int[] idx = ints(index);
        int ss = src.strides()[dim], ds = dst.strides()[dim];
        int[] shape = src.shape();
        Rows.forEach(Shapes.remove(shape, dim), Rows.dropDim(src, shape, dim), Rows.dropDim(dst, shape, dim), null,
                (oa, ob, oc, n, sa, sb, sc) -> {
                    for (int i = 0; i < idx.length; i++) {
                        int from = oa + i * ss, to = ob + idx[i] * ds;
                        for (int j = 0; j < n; j++) y[to + j * sb] += x[from + j * sa];
                    }
                });
    }

    /** out[p] = a[p with dim replaced by index[p]] for every position p of index (and out). */
    static void gather(Tensor a, int dim, Tensor index, Tensor out) {
        float[] x = Rows.array(a), ix = Rows.array(index), y = Rows.array(out);
        int as = a.strides()[dim], is = index.strides()[dim], os = out.strides()[dim];
        int[] shape = index.shape();
        int m = shape[dim];
        Rows.forEach(Shapes.remove(shape, dim), Rows.dropDim(index, shape, dim), Rows.dropDim(out, shape, dim),
                Rows.dropDim(a, shape, dim), (oi, oo, oa, n, si, so, sa) -> {
                    for (int t = 0; t < m; t++) {
                        int bi = oi + t * is, bo = oo + t * os;
                        for (int j = 0; j < n; j++) y[bo + j * so] = x[oa + j * sa + (int) ix[bi + j * si] * as];
                    }
                });
    }

    /** dst[p with dim replaced by index[p]] += src[p] for every position p of index. */
    static void scatterAdd(Tensor dst, int dim, Tensor index, Tensor src) {
        float[] y = Rows.array(dst), ix = Rows.array(index), x = Rows.array(src);
        int ds = dst.strides()[dim], is = index.strides()[dim], ss = src.strides()[dim];
        int[] shape = index.shape();
        int m = shape[dim];
        Rows.forEach(Shapes.remove(shape, dim), Rows.dropDim(index, shape, dim), Rows.dropDim(src, shape, dim),
                Rows.dropDim(dst, shape, dim), (oi, os, od, n, si, sx, sd) -> {
                    for (int t = 0; t < m; t++) {
                        int bi = oi + t * is, bs = os + t * ss;
                        for (int j = 0; j < n; j++) y[od + j * sd + (int) ix[bi + j * si] * ds] += x[bs + j * sx];
                    }
                });
    }

    /**
     * values, indices [..., k] = the k largest (or smallest) of a [..., n] along its last dim, sorted, ties by lower
     * index. nan counts as larger than every number, as in PyTorch; -0.0 and 0.0 tie.
     */
    static void topK(Tensor a, int k, boolean largest, Tensor values, Tensor indices) {
        float[] x = Rows.array(a), v = Rows.array(values), ix = Rows.array(indices);
        int last = a.rank() - 1;
        int size = a.shape()[last], as = a.strides()[last], vs = values.strides()[last], is = indices.strides()[last];
        int[] shape = a.shape();
        if (k == 0) return;
        Rows.forEach(Shapes.remove(shape, last), Rows.dropDim(a, shape, last), Rows.dropDim(values, values.shape(), last),
                Rows.dropDim(indices, indices.shape(), last), (oa, ov, oi, n, sa, sv, si) -> {
                    long[] keys = new long[size];
                    for (int j = 0; j < n; j++) {
                        int base = oa + j * sa;
                        for (int c = 0; c < size; c++) keys[c] = orderKey(x[base + c * as], c, largest);
                        long[] best = smallest(keys, k);
                        for (int c = 0; c < k; c++) {
                            int col = (int) best[c]; // low 32 bits hold the column
                            v[ov + j * sv + c * vs] = x[base + col * as];
                            ix[oi + j * si + c * is] = col;
                        }
                    }
                });
    }

    /**
     * A long whose ascending order is the wanted order: the value (descending when {@code largest}) in the high
     * 32 bits, the column (ascending, so ties go to the lower index) in the low 32.
     */
    private static long orderKey(float value, int column, boolean largest) {
        // floatToIntBits maps every nan to one positive pattern above +inf; flipping the magnitude bits of negatives
        // makes signed int order agree with float order.
        int bits = Float.floatToIntBits(value == 0f ? 0f : value);
        int key = bits ^ ((bits >> 31) & 0x7fffffff);
        if (largest) key = ~key;
        return ((long) key << 32) | column;
    }

    /** The k smallest of {@code keys}, ascending (a full sort when k is a sizeable part of the row). */
    private static long[] smallest(long[] keys, int k) {
        if ((long) k * 8 >= keys.length) {
            Arrays.sort(keys); // keys is the caller's per-row scratch, rewritten for every row
            return Arrays.copyOf(keys, k);
        }
        // Max-heap of the k smallest seen so far: O(n log k).
        long[] heap = Arrays.copyOf(keys, k);
        for (int i = k / 2 - 1; i >= 0; i--) siftDown(heap, i, k);
        for (int i = k; i < keys.length; i++) {
            if (keys[i] < heap[0]) {
                heap[0] = keys[i];
                siftDown(heap, 0, k);
            }
        }
        Arrays.sort(heap);
        return heap;
    }

    private static void siftDown(long[] heap, int i, int n) {
        while (true) {
            int l = 2 * i + 1, r = l + 1, top = i;
            if (l < n && heap[l] > heap[top]) top = l;
            if (r < n && heap[r] > heap[top]) top = r;
            if (top == i) return;
            long t = heap[i];
            heap[i] = heap[top];
            heap[top] = t;
            i = top;
        }
    }
}
