package dev.loupe.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

/**
 * Which products the 128x128 cp.async GEMM takes (no GPU needed): every dense transpose of each operand, and none
 * whose 16-byte copies would be misaligned or straddle an edge, which the 64x64 kernels then serve.
 */
class GemmLayoutTest {
    /** [m, k] @ [k, n] with a and b given by their strides (row, column) and offsets; no batch. */
    private static String layout(int m, int n, int k, int sam, int sak, int sbk, int sbn, long ao, long bo) {
        return GemmGeometry.of(new int[] {m, k}, new int[] {sam, sak}, new int[] {k, n}, new int[] {sbk, sbn},
                new int[] {n, 1}, false).largeTileLayout(ao, bo);
    }

    @Test
    void denseOperandsInEitherOrderQualify() {
        assertEquals("rr", layout(256, 384, 96, 96, 1, 384, 1, 0, 0));   // x @ w
        assertEquals("rc", layout(256, 384, 96, 96, 1, 1, 96, 0, 0));    // x @ wᵀ (dX = dY · Wᵀ, q · kᵀ)
        assertEquals("cr", layout(256, 384, 96, 1, 256, 384, 1, 0, 0));  // xᵀ @ y (dW = Xᵀ · dY)
        assertEquals("cc", layout(256, 384, 96, 1, 256, 1, 96, 4, 8));
    }

    @Test
    void misalignedOrRaggedOperandsFallBack() {
        assertNull(layout(256, 384, 98, 98, 1, 384, 1, 0, 0));   // a's rows are not 16-byte aligned (k = 98)
        assertNull(layout(256, 386, 96, 96, 1, 386, 1, 0, 0));   // b's rows: n = 386
        assertNull(layout(256, 384, 96, 96, 1, 384, 1, 2, 0));   // a starts mid-chunk
        assertNull(layout(256, 384, 96, 96, 1, 384, 1, 0, 6));
        assertNull(layout(256, 384, 96, 192, 2, 384, 1, 0, 0));  // a has no unit stride (a strided slice)
        assertEquals("rr", layout(257, 384, 96, 96, 1, 384, 1, 0, 0)); // a ragged m is fine for row-major a
        assertNull(layout(257, 384, 96, 1, 257, 384, 1, 0, 0));  // but not for column-major a
    }

    @Test
    void batchStridesMustKeepAlignment() {
        GemmGeometry ok = GemmGeometry.of(new int[] {3, 128, 64}, new int[] {128 * 64, 64, 1},
                new int[] {3, 64, 128}, new int[] {0, 128, 1}, new int[] {128 * 128, 128, 1}, false);
        assertEquals("rr", ok.largeTileLayout(0, 0)); // b broadcast over the batch (stride 0)
        GemmGeometry odd = GemmGeometry.of(new int[] {3, 128, 64}, new int[] {128 * 64 + 2, 64, 1},
                new int[] {3, 64, 128}, new int[] {0, 128, 1}, new int[] {128 * 128, 128, 1}, false);
        assertNull(odd.largeTileLayout(0, 0));
    }
}
