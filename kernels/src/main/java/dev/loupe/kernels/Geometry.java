package dev.loupe.kernels;

import java.util.Arrays;

/**
 * The iteration shape and per-operand strides of one strided kernel launch; the Java mirror of {@code struct
 * Geometry} in {@code common.cuh}, passed to kernels by value as {@link #pack()}ed ints: rank, numel,
 * shape[{@value #MAX_DIMS}], strides[{@value #MAX_OPERANDS}][{@value #MAX_DIMS}]. Element i (row-major over shape) of
 * operand k is at {@code sum_d coord_d(i) * strides[k][d]} from that operand's base pointer.
 *
 * @param shape   iteration shape, at most {@value #MAX_DIMS} dims
 * @param strides one stride array per operand (at most {@value #MAX_OPERANDS}), each as long as {@code shape}
 */
record Geometry(int[] shape, int[][] strides) {
    static final int MAX_DIMS = 8;
    static final int MAX_OPERANDS = 4;
    /** Ints in a packed geometry. */
    static final int PACKED_INTS = 2 + MAX_DIMS + MAX_OPERANDS * MAX_DIMS;

    Geometry {
        if (strides.length > MAX_OPERANDS) throw new IllegalArgumentException(strides.length + " operands, at most "
                + MAX_OPERANDS);
        if (shape.length > MAX_DIMS) throw new UnsupportedOperationException("CUDA kernels take at most " + MAX_DIMS
                + " dims after merging, got shape " + Arrays.toString(shape));
        for (int[] s : strides) {
            if (s.length != shape.length) throw new IllegalArgumentException("strides " + Arrays.toString(s)
                    + " do not match shape " + Arrays.toString(shape));
        }
    }

    /**
     * The geometry of {@code shape} with adjacent dims merged wherever every operand steps through them as one dim
     * (stride[d] == stride[d + 1] * shape[d + 1]) and size-1 dims dropped: a contiguous or broadcast operand of any
     * rank usually becomes one or two dims, which keeps the kernels' index arithmetic short.
     */
    static Geometry merged(int[] shape, int[]... strides) {
        int n = shape.length, k = strides.length;
        int[] outShape = new int[n];
        int[][] outStrides = new int[k][n];
        int rank = 0;
        for (int d = 0; d < n; d++) {
            if (shape[d] == 1) continue;
            boolean merge = rank > 0;
            for (int op = 0; op < k && merge; op++) {
                merge = outStrides[op][rank - 1] == strides[op][d] * shape[d];
            }
            if (merge) {
                outShape[rank - 1] *= shape[d];
                for (int op = 0; op < k; op++) outStrides[op][rank - 1] = strides[op][d];
            } else {
                outShape[rank] = shape[d];
                for (int op = 0; op < k; op++) outStrides[op][rank] = strides[op][d];
                rank++;
            }
        }
        int[][] trimmed = new int[k][];
        for (int op = 0; op < k; op++) trimmed[op] = Arrays.copyOf(outStrides[op], rank);
        return new Geometry(Arrays.copyOf(outShape, rank), trimmed);
    }

    /** The geometry with every dim kept (for kernels that need the coordinate along a given dim). */
    static Geometry exact(int[] shape, int[]... strides) {
        int[][] copies = new int[strides.length][];
        for (int i = 0; i < strides.length; i++) copies[i] = strides[i].clone();
        return new Geometry(shape.clone(), copies);
    }

    /** Number of elements iterated. */
    int numel() {
        long n = 1;
        for (int s : shape) n *= s;
        return Math.toIntExact(n);
    }

    /** The ints of {@code struct Geometry}, in its field order. */
    int[] pack() {
        int[] p = new int[PACKED_INTS];
        p[0] = shape.length;
        p[1] = numel();
        System.arraycopy(shape, 0, p, 2, shape.length);
        for (int op = 0; op < strides.length; op++) {
            System.arraycopy(strides[op], 0, p, 2 + MAX_DIMS + op * MAX_DIMS, shape.length);
        }
        return p;
    }
}
