package dev.loupe.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.loupe.tensor.FloatStorage;
import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** The fast GEMM held against {@link NaiveMatmul} (double-precision triple loop) on layouts and edge shapes. */
class GemmTest {
    /**
     * A random matrix [rows, cols] stored either row-major or transposed (column-major), at a non-zero offset inside a
     * larger array, exposed as a strided tensor view.
     */
    private record Mat(float[] data, int off, int rs, int cs, int rows, int cols) {
        static Mat random(Rng rng, int rows, int cols, boolean transposed) {
            int off = 1 + rng.nextInt(5);
            float[] data = new float[off + rows * cols + 3];
            for (int i = 0; i < data.length; i++) data[i] = (float) rng.nextGaussian();
            return transposed ? new Mat(data, off, 1, rows, rows, cols) : new Mat(data, off, cols, 1, rows, cols);
        }

        float at(int i, int j) {
            return data[off + i * rs + j * cs];
        }

        Tensor view() {
            return Tensor.fromStorage(new FloatStorage(data), new int[] {rows, cols}, new int[] {rs, cs}, off);
        }
    }

    /**
     * Checks {@code got} against the reference element by element, with a tolerance of 1e-5 * sqrt(k) relative to
     * the sum of |products| (plus |C| when accumulating), the scale float32 rounding errors grow with.
     */
    private static void assertClose(Mat a, Mat b, float[] c0, float[] ref, float[] got, boolean accumulate,
                                    String what) {
        int m = a.rows(), k = a.cols(), n = b.cols();
        double tol = 1e-5 * Math.sqrt(Math.max(k, 1));
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double scale = accumulate ? Math.abs(c0[i * n + j]) : 0;
                for (int p = 0; p < k; p++) scale += Math.abs((double) a.at(i, p) * b.at(p, j));
                double err = Math.abs(got[i * n + j] - ref[i * n + j]);
                if (!(err <= tol * scale + 1e-30)) {
                    fail(what + ": C[" + i + ", " + j + "] = " + got[i * n + j] + " but reference " + ref[i * n + j]);
                }
            }
        }
    }

    /** Runs the fast and the reference product on the same operands and starting C, then compares. */
    private static void check(Rng rng, int m, int k, int n, boolean ta, boolean tb, boolean accumulate) {
        Mat a = Mat.random(rng, m, k, ta), b = Mat.random(rng, k, n, tb);
        float[] c0 = new float[m * n];
        for (int i = 0; i < c0.length; i++) c0[i] = (float) rng.nextGaussian();
        Tensor got = Tensor.of(c0, m, n), ref = Tensor.of(c0, m, n);
        Gemm.batched(a.view(), b.view(), got, accumulate);
        NaiveMatmul.matmul(a.view(), b.view(), ref, accumulate);
        String what = "[" + m + ", " + k + "] @ [" + k + ", " + n + "] ta=" + ta + " tb=" + tb + " acc=" + accumulate;
        assertClose(a, b, c0, ref.toFloatArray(), got.toFloatArray(), accumulate, what);
    }

    @Test
    void matchesReferenceOnEdgeShapesForAllTransposesAndAccumulate() {
        Rng rng = new Rng(11);
        int[][] shapes = {{1, 1, 1}, {1, 7, 1}, {1, 33, 50}, {3, 5, 2}, {7, 13, 17}, {8, 16, 32}, {9, 17, 33},
            {5, 1, 40}, {40, 1, 5}, {17, 300, 1}, {1, 300, 70}, {2, 64, 100}, {31, 63, 65}, {64, 64, 64},
            {100, 257, 47}, {13, 520, 95}, {129, 31, 130}};
        for (int[] s : shapes) {
            for (int t = 0; t < 8; t++) check(rng, s[0], s[1], s[2], (t & 1) != 0, (t & 2) != 0, (t & 4) != 0);
        }
    }

    @Test
    void matchesReferenceOnRandomShapes() {
        Rng rng = new Rng(12);
        for (int trial = 0; trial < 40; trial++) {
            int m = 1 + rng.nextInt(90), k = 1 + rng.nextInt(300), n = 1 + rng.nextInt(90);
            check(rng, m, k, n, rng.nextInt(2) == 0, rng.nextInt(2) == 0, rng.nextInt(2) == 0);
        }
    }

    @Test
    void matchesReferenceAcrossSeveralBlocksInEveryDimension() {
        // k > KC, m > MC, and n not a multiple of NR: exercises accumulation across K blocks and edge tiles.
        check(new Rng(13), GemmKernel.MC + 37, GemmKernel.KC * 2 + 5, 3 * GemmKernel.NR + 7, false, false, false);
        check(new Rng(14), GemmKernel.MC + 5, GemmKernel.KC + 1, GemmKernel.NR + 1, true, true, true);
    }

    @Test
    void biasStartsEveryRowOnEveryPathAndEdge() {
        // Direct (thin) and packed shapes, edge tiles in both dims, several K blocks, both layouts: C = A @ B + bias
        // against the reference product accumulated onto the bias repeated in every row.
        Rng rng = new Rng(16);
        int[][] shapes = {{1, 7, 5}, {3, 40, 70}, {8, 16, 32}, {9, 17, 33}, {64, 384, 96},
            {GemmKernel.MC + 13, GemmKernel.KC * 2 + 3, 2 * GemmKernel.NR + 5}, {17, 0, 9}};
        for (int[] s : shapes) {
            int m = s[0], k = s[1], n = s[2];
            for (int t = 0; t < 4; t++) {
                Mat a = Mat.random(rng, m, k, (t & 1) != 0), b = Mat.random(rng, k, n, (t & 2) != 0);
                float[] bias = new float[n + 2], rows = new float[m * n];
                for (int j = 0; j < bias.length; j++) bias[j] = (float) rng.nextGaussian();
                for (int i = 0; i < m; i++) System.arraycopy(bias, 1, rows, i * n, n);
                Tensor biasView = Tensor.fromStorage(new FloatStorage(bias), new int[] {n}, new int[] {1}, 1);
                Tensor got = Tensor.full(Float.NaN, m, n), ref = Tensor.of(rows, m, n);
                Gemm.batched(a.view(), b.view(), biasView, got, false);
                NaiveMatmul.matmul(a.view(), b.view(), ref, true);
                assertClose(a, b, rows, ref.toFloatArray(), got.toFloatArray(), true,
                        "bias [" + m + ", " + k + "] @ [" + k + ", " + n + "] t=" + t);
            }
        }
    }

    @Test
    void biasOfTheWrongShapeOrWithAccumulationIsRefused() {
        Tensor a = Tensor.ones(4, 3), b = Tensor.ones(3, 5), out = Tensor.zeros(4, 5);
        assertThrows(IllegalArgumentException.class, () -> Gemm.batched(a, b, Tensor.ones(4), out, false));
        assertThrows(IllegalArgumentException.class, () -> Gemm.batched(a, b, Tensor.ones(5), out, true));
        assertThrows(IllegalArgumentException.class,
                () -> Gemm.batched(a, b, Tensor.ones(5, 2).select(1, 0), out, false));
    }

    @Test
    void emptyInnerDimensionGivesZerosOrLeavesCUnchanged() {
        Tensor a = Tensor.zeros(3, 0), b = Tensor.zeros(0, 4);
        Tensor out = Tensor.full(5f, 3, 4);
        Gemm.batched(a, b, out, true);
        assertArrayEquals(Tensor.full(5f, 3, 4).toFloatArray(), out.toFloatArray());
        Gemm.batched(a, b, out, false);
        assertArrayEquals(new float[12], out.toFloatArray());
    }

    @Test
    void resultDoesNotDependOnHowManyPartsTheWorkIsSplitInto() {
        Rng rng = new Rng(15);
        int[][] shapes = {{77, 300, 150}, {200, 100, 40}, {2, 300, 2000}, {300, 64, 3}};
        for (int[] s : shapes) {
            int m = s[0], k = s[1], n = s[2];
            Mat a = Mat.random(rng, m, k, false), b = Mat.random(rng, k, n, true);
            float[] one = new float[m * n];
            Gemm.gemm(m, n, k, a.data(), a.off(), a.rs(), a.cs(), b.data(), b.off(), b.rs(), b.cs(), one, 0, n,
                    false, 1);
            for (int parts : new int[] {2, 3, 7}) {
                float[] split = new float[m * n];
                Gemm.gemm(m, n, k, a.data(), a.off(), a.rs(), a.cs(), b.data(), b.off(), b.rs(), b.cs(), split, 0, n,
                        false, parts);
                assertArrayEquals(one, split, "[" + m + ", " + k + ", " + n + "] split into " + parts);
            }
        }
    }

    @Test
    void batchedWithBroadcastBatchDimsMatchesReference() {
        Rng rng = new Rng(16);
        // a [2, 3, m, k] from [2, 1, m, k] (stride 0 over the heads); b [2, 3, k, n] from [3, k, n] (stride 0 on dim 0).
        int m = 19, k = 37, n = 41;
        Tensor a = Tensor.randn(rng, 2, 1, m, k).expand(2, 3, m, k);
        Tensor b = Tensor.randn(rng, 3, k, n).unsqueeze(0).expand(2, 3, k, n);
        for (boolean accumulate : new boolean[] {false, true}) {
            Tensor start = Tensor.randn(rng, 2, 3, m, n);
            Tensor got = start.contiguous(), ref = Tensor.of(start.toFloatArray(), 2, 3, m, n);
            Gemm.batched(a, b, got, accumulate);
            NaiveMatmul.matmul(a, b, ref, accumulate);
            assertArrayEquals(ref.toFloatArray(), got.toFloatArray(), 1e-4f);
        }
        // Many small matrices (split over the batch), with a transposed operand as in attention scores q @ k^T.
        Tensor q = Tensor.randn(rng, 12, 64, 32), kt = Tensor.randn(rng, 12, 64, 32).transpose(1, 2);
        Tensor got = Tensor.zeros(12, 64, 64), ref = Tensor.zeros(12, 64, 64);
        Gemm.batched(q, kt, got, false);
        NaiveMatmul.matmul(q, kt, ref, false);
        assertArrayEquals(ref.toFloatArray(), got.toFloatArray(), 1e-4f);
    }

    @Test
    void publicMatmulOnTransposedViewsMatchesReference() {
        Rng rng = new Rng(17);
        int m = 45, k = 70, n = 66;
        Tensor at = Tensor.randn(rng, k, m).transpose(0, 1), bt = Tensor.randn(rng, n, k).transpose(0, 1);
        Tensor ref = Tensor.zeros(m, n);
        NaiveMatmul.matmul(at, bt, ref, false);
        assertArrayEquals(ref.toFloatArray(), at.matmul(bt).toFloatArray(), 1e-4f);
        // [batch, m, k] @ [k, n] folds into one 2-D product; broadcasting batch dims goes through expand.
        Tensor x = Tensor.randn(rng, 3, m, k), w = Tensor.randn(rng, k, n);
        Tensor folded = x.matmul(w), ref3 = Tensor.zeros(3, m, n);
        NaiveMatmul.matmul(x, w.unsqueeze(0).expand(3, k, n), ref3, false);
        assertArrayEquals(ref3.toFloatArray(), folded.toFloatArray(), 1e-4f);
        Tensor y = Tensor.randn(rng, 2, 1, 5, 7).matmul(Tensor.randn(rng, 3, 7, 4));
        assertArrayEquals(new int[] {2, 3, 5, 4}, y.shape());
    }

    @Test
    void mismatchedShapesFailWithTheShapesInTheMessage() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Gemm.batched(Tensor.zeros(2, 3), Tensor.zeros(4, 5), Tensor.zeros(2, 5), false));
        assertEquals("gemm: [2, 3] @ [4, 5]: inner dims 3 and 4 differ", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Gemm.gemm(2, 2, 2, new float[3], 0, 2, 1, new float[4], 0, 2, 1, new float[4], 0, 2, false));
        assertTrue(e.getMessage().contains("A [2, 2]"), e.getMessage());
    }
}
