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

    /**
     * The operand layouts for the 128x128 cp.async kernels ({@code loupe_gemm128_<precision>_<a><b>}): "r" for a
     * row-major operand (unit stride along its columns), "c" for a column-major one, e.g. "rc" for {@code x @ wᵀ};
     * null when they do not apply. Each operand needs its unit-stride dim's extent and its other stride (and its
     * batch strides and element offset, for 16-byte-aligned copies) to be multiples of 4.
     *
     * @param aOffset the element offset of a's first element in its (256-byte-aligned) allocation; likewise b
     */
    String largeTileLayout(long aOffset, long bOffset) {
        int sam = matrix[0], sak = matrix[1], sbk = matrix[2], sbn = matrix[3];
        for (int d = 0; d < batch.length; d++) {
            if (batchStride[0][d] % 4 != 0 || batchStride[1][d] % 4 != 0) return null;
        }
        if (aOffset % 4 != 0 || bOffset % 4 != 0) return null;
        String la = sak == 1 && k % 4 == 0 && sam % 4 == 0 ? "r" : sam == 1 && m % 4 == 0 && sak % 4 == 0 ? "c" : null;
        String lb = sbn == 1 && n % 4 == 0 && sbk % 4 == 0 ? "r" : sbk == 1 && k % 4 == 0 && sbn % 4 == 0 ? "c" : null;
        return la == null || lb == null ? null : la + lb;
    }
}
