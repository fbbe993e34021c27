package dev.loupe.kernels;

import java.util.Arrays;

/**
 * The shapes and strides of one batched GEMM launch, {@code out[z] (+)= a[z] @ b[z]}; the Java mirror of
 * {@code struct GemmGeometry} in {@code gemm.cu}: m, n, k, batch, batchRank, batchShape[4], batchStride[3][4]
 * (a, b, out), sam, sak, sbk, sbn, som, son, accumulate.
 *
 * @param m           rows of a and out
 * @param n           columns of b and out
 * @param k           the contracted length
 * @param batch       the batch dims' shape after merging (at most {@value #MAX_BATCH_DIMS})
 * @param batchStride the batch strides of a, b and out, each as long as {@code batch}
 * @param matrix      sam, sak, sbk, sbn, som, son: row and column strides of a, b and out
 * @param accumulate  add into out instead of overwriting it
 */
record GemmGeometry(int m, int n, int k, int[] batch, int[][] batchStride, int[] matrix, boolean accumulate) {
    static final int MAX_BATCH_DIMS = 4;
    static final int PACKED_INTS = 5 + MAX_BATCH_DIMS + 3 * MAX_BATCH_DIMS + 6 + 1;

    /**
     * The geometry of a [batch..., m, k] @ [batch..., k, n] → [batch..., m, n] product from the three operands'
     * shapes and strides (batch dims equal, possibly stride 0); batch dims that step together are merged.
     */
    static GemmGeometry of(int[] aShape, int[] aStrides, int[] bShape, int[] bStrides, int[] outStrides,
                           boolean accumulate) {
        int r = aShape.length;
        int m = aShape[r - 2], k = aShape[r - 1], n = bShape[r - 1];
        int[] batchShape = Arrays.copyOf(aShape, r - 2);
        Geometry merged = Geometry.merged(batchShape, Arrays.copyOf(aStrides, r - 2), Arrays.copyOf(bStrides, r - 2),
                Arrays.copyOf(outStrides, r - 2));
        if (merged.shape().length > MAX_BATCH_DIMS) {
            throw new UnsupportedOperationException("CUDA matmul takes at most " + MAX_BATCH_DIMS + " batch dims "
                    + "after merging, got " + Arrays.toString(merged.shape()));
        }
        int[] matrix = {aStrides[r - 2], aStrides[r - 1], bStrides[r - 2], bStrides[r - 1], outStrides[r - 2],
                outStrides[r - 1]};
        return new GemmGeometry(m, n, k, merged.shape(), merged.strides(), matrix, accumulate);
    }

    /** Number of matrices in the batch. */
    int batchCount() {
        int c = 1;
        for (int s : batch) c = Math.multiplyExact(c, s);
        return c;
    }

    /** The ints of {@code struct GemmGeometry}, in its field order. */
    int[] pack() {
        int[] p = new int[PACKED_INTS];
        p[0] = m;
        p[1] = n;
        p[2] = k;
        p[3] = batchCount();
        p[4] = batch.length;
        System.arraycopy(batch, 0, p, 5, batch.length);
        for (int op = 0; op < 3; op++) {
            System.arraycopy(batchStride[op], 0, p, 5 + MAX_BATCH_DIMS + op * MAX_BATCH_DIMS, batch.length);
        }
        System.arraycopy(matrix, 0, p, 5 + 4 * MAX_BATCH_DIMS, 6);
        p[PACKED_INTS - 1] = accumulate ? 1 : 0;
        return p;
    }
}
