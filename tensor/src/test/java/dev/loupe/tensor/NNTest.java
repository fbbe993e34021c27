package dev.loupe.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import org.junit.jupiter.api.Test;

/** Forward values of the neural-network ops against plain double-precision references written here. */
class NNTest {
    // ---------------------------------------------------------------- references

    /** Softmax (or log-softmax) of row-major data of {@code shape} over {@code dim}, in double. */
    static double[] softmaxRef(float[] x, int[] shape, int dim, boolean log) {
        int n = shape[dim], inner = 1, outer = 1;
        for (int i = dim + 1; i < shape.length; i++) inner *= shape[i];
        for (int i = 0; i < dim; i++) outer *= shape[i];
        double[] y = new double[x.length];
        for (int o = 0; o < outer; o++) {
            for (int in = 0; in < inner; in++) {
                int base = o * n * inner + in;
                double max = Double.NEGATIVE_INFINITY;
                for (int k = 0; k < n; k++) max = Math.max(max, x[base + k * inner]);
                double sum = 0;
                for (int k = 0; k < n; k++) sum += Math.exp(x[base + k * inner] - max);
                for (int k = 0; k < n; k++) {
                    double z = x[base + k * inner] - max;
                    y[base + k * inner] = log ? z - Math.log(sum) : Math.exp(z) / sum;
                }
            }
        }
        return y;
    }

    /** LayerNorm over the last dim of row-major data, in double; w and b may be null. */
    static double[] layerNormRef(float[] x, int d, float[] w, float[] b, double eps) {
        double[] y = new double[x.length];
        for (int r = 0; r < x.length / d; r++) {
            double mean = 0, var = 0;
            for (int i = 0; i < d; i++) mean += x[r * d + i];
            mean /= d;
            for (int i = 0; i < d; i++) var += (x[r * d + i] - mean) * (x[r * d + i] - mean);
            var /= d;
            for (int i = 0; i < d; i++) {
                double v = (x[r * d + i] - mean) / Math.sqrt(var + eps);
                y[r * d + i] = v * (w == null ? 1 : w[i]) + (b == null ? 0 : b[i]);
            }
        }
        return y;
    }

    /** |actual - expected| <= tol * max(1, |expected|) elementwise; infinities and nan must match exactly. */
    static void assertClose(double[] expected, float[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i], a = actual[i];
            if (Double.isNaN(e) || Double.isInfinite(e)) {
                if (Double.compare(e, a) != 0) fail(what + " at " + i + ": expected " + e + " but got " + a);
            } else if (!(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)))) {
                fail(what + " at " + i + ": expected " + e + " but got " + a);
            }
        }
    }

    private static Tensor randn(long seed, int... shape) {
        return Tensor.randn(new Rng(seed), shape);
    }

    // ---------------------------------------------------------------- softmax

    @Test
    void softmaxAndLogSoftmaxMatchReferenceOverEveryDim() {
        for (int[] shape : new int[][] {{7}, {3, 4, 5}, {2, 3, 37}, {2, 70}, {1000, 40}}) { // the last splits over threads
            Tensor x = randn(11, shape).mul(3f);
            for (int dim = 0; dim < shape.length; dim++) {
                for (boolean log : new boolean[] {false, true}) {
                    Tensor y = log ? x.logSoftmax(dim) : x.softmax(dim);
                    assertClose(softmaxRef(x.toFloatArray(), shape, dim, log), y.toFloatArray(), 2e-6,
                            (log ? "logSoftmax" : "softmax") + " of " + Shapes.format(shape) + " over dim " + dim);
                }
            }
            assertClose(softmaxRef(x.toFloatArray(), shape, shape.length - 1, false), x.softmax(-1).toFloatArray(),
                    2e-6, "softmax over dim -1");
        }
    }

    @Test
    void softmaxOfTransposedAndSlicedViewsMatchesReference() {
        Tensor base = randn(12, 4, 6, 33);
        Tensor[] views = {base.transpose(0, 2), base.slice(2, 1, 33, 2), base.permute(1, 2, 0).narrow(0, 2, 3)};
        for (Tensor v : views) {
            for (int dim = 0; dim < 3; dim++) {
                assertClose(softmaxRef(v.toFloatArray(), v.shape(), dim, false), v.softmax(dim).toFloatArray(), 2e-6,
                        "softmax of view " + Shapes.format(v.shape()) + " over dim " + dim);
                assertClose(softmaxRef(v.toFloatArray(), v.shape(), dim, true), v.logSoftmax(dim).toFloatArray(),
                        2e-6, "logSoftmax of view " + Shapes.format(v.shape()) + " over dim " + dim);
            }
        }
    }

    @Test
    void softmaxOfValuesInTheThousandsIsFiniteAndExact() {
        float[] data = new float[2 * 40];
        for (int i = 0; i < 40; i++) {
            data[i] = 1000f + i * 0.25f; // every exp(x) alone would overflow
            data[40 + i] = -3000f - i * 0.5f; // and underflow
        }
        Tensor x = Tensor.of(data, 2, 40);
        assertClose(softmaxRef(data, new int[] {2, 40}, 1, false), x.softmax(1).toFloatArray(), 2e-6, "softmax");
        assertClose(softmaxRef(data, new int[] {2, 40}, 1, true), x.logSoftmax(1).toFloatArray(), 2e-6, "logSoftmax");
    }

    @Test
    void causallyMaskedSoftmaxPutsZeroOnFuturePositions() {
        int t = 19;
        Tensor scores = randn(13, 2, 3, t, t).mul(2f);
        float[] mask = new float[t * t]; // 1 where key k comes after query q
        for (int q = 0; q < t; q++) for (int k = q + 1; k < t; k++) mask[q * t + k] = 1f;
        Tensor future = Tensor.of(mask, t, t);
        Tensor masked = scores.maskedFill(future, Float.NEGATIVE_INFINITY);
        float[] p = masked.softmax(-1).toFloatArray(), lp = masked.logSoftmax(-1).toFloatArray();
        float[] s = scores.toFloatArray();
        for (int row = 0; row < 2 * 3 * t; row++) {
            int q = row % t;
            // Reference: softmax over the visible keys 0..q only.
            float[] visible = new float[q + 1];
            System.arraycopy(s, row * t, visible, 0, q + 1);
            double[] ref = softmaxRef(visible, new int[] {q + 1}, 0, false);
            double[] logRef = softmaxRef(visible, new int[] {q + 1}, 0, true);
            for (int k = 0; k < t; k++) {
                if (k > q) {
                    assertEquals(0f, p[row * t + k], "softmax at a future position");
                    assertEquals(Float.NEGATIVE_INFINITY, lp[row * t + k], "logSoftmax at a future position");
                } else {
                    assertEquals(ref[k], p[row * t + k], 2e-6, "softmax at a visible position");
                    assertEquals(logRef[k], lp[row * t + k], 2e-6 * Math.max(1, Math.abs(logRef[k])));
                }
            }
        }
    }

    @Test
    void rowOfAllMinusInfinityGivesNanLikePyTorch() {
        float inf = Float.NEGATIVE_INFINITY;
        Tensor x = Tensor.of(new float[][] {{inf, inf, inf}, {0f, inf, 0f}});
        float[] p = x.softmax(1).toFloatArray(), lp = x.logSoftmax(1).toFloatArray();
        for (int k = 0; k < 3; k++) {
            assertTrue(Float.isNaN(p[k]), "softmax of a fully masked row");
            assertTrue(Float.isNaN(lp[k]), "logSoftmax of a fully masked row");
        }
        assertClose(new double[] {0.5, 0, 0.5}, new float[] {p[3], p[4], p[5]}, 1e-7, "partly masked row");
    }

    @Test
    void softmaxRejectsDimOutOfRange() {
        Tensor x = Tensor.zeros(2, 3);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> x.softmax(2));
        assertTrue(e.getMessage().contains("softmax") && e.getMessage().contains("dim 2"), e.getMessage());
    }

    // ---------------------------------------------------------------- layerNorm

    @Test
    void layerNormMatchesReferenceWithAndWithoutWeightAndBias() {
        for (int[] shape : new int[][] {{2, 3, 8}, {5, 37}, {4, 768}, {1}, {300, 100}}) {
            int d = shape[shape.length - 1];
            Tensor x = randn(21, shape).mul(2f).add(0.5f);
            Tensor w = randn(22, d), b = randn(23, d);
            float[] xs = x.toFloatArray();
            assertClose(layerNormRef(xs, d, w.toFloatArray(), b.toFloatArray(), 1e-5), x.layerNorm(w, b, 1e-5f)
                    .toFloatArray(), 2e-5, "layerNorm with weight and bias " + Shapes.format(shape));
            assertClose(layerNormRef(xs, d, null, null, 1e-5), x.layerNorm(null, null, 1e-5f).toFloatArray(), 2e-5,
                    "layerNorm without weight or bias " + Shapes.format(shape));
            assertClose(layerNormRef(xs, d, w.toFloatArray(), null, 1e-5), x.layerNorm(w, null, 1e-5f)
                    .toFloatArray(), 2e-5, "layerNorm with weight only " + Shapes.format(shape));
        }
    }

    @Test
    void layerNormOfNonContiguousInputAndLargeOffsetMatchesReference() {
        Tensor base = randn(24, 40, 6).add(1000f); // |mean| >> std: the variance must not cancel
        Tensor x = base.transpose(0, 1); // [6, 40], rows are strided
        Tensor w = randn(25, 80).slice(0, 0, 80, 2); // strided weight [40]
        float[] xs = x.toFloatArray();
        // The mean itself is a float near 1000 (ulp 6e-5), which bounds what any float32 kernel can reach.
        assertClose(layerNormRef(xs, 40, w.toFloatArray(), null, 1e-5), x.layerNorm(w, null, 1e-5f).toFloatArray(),
                1e-4, "layerNorm of transposed input offset by 1000");
    }

    @Test
    void layerNormRejectsWeightOfWrongShape() {
        Tensor x = Tensor.zeros(3, 4);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> x.layerNorm(Tensor.ones(5), null, 1e-5f));
        assertTrue(e.getMessage().contains("layerNorm") && e.getMessage().contains("[5]")
                && e.getMessage().contains("[3, 4]"), e.getMessage());
    }

    // ---------------------------------------------------------------- crossEntropy

    @Test
    void crossEntropyIsMeanNegativeLogProbabilityOverCountedTargets() {
        Tensor logits = randn(31, 5, 7).mul(3f);
        int[] targets = {3, -1, 0, 6, -100};
        double[] lsm = softmaxRef(logits.toFloatArray(), new int[] {5, 7}, 1, true);
        double sum = 0;
        int count = 0;
        for (int i = 0; i < 5; i++) {
            if (targets[i] < 0) continue;
            sum -= lsm[i * 7 + targets[i]];
            count++;
        }
        assertEquals(sum / count, logits.crossEntropy(Tensor.indices(targets)).item(), 1e-5);
    }

    @Test
    void crossEntropyWithEveryTargetIgnoredIsNan() {
        assertTrue(Float.isNaN(randn(32, 2, 3).crossEntropy(Tensor.indices(-1, -1)).item()));
    }

    @Test
    void crossEntropyRejectsBadTargets() {
        Tensor logits = Tensor.zeros(2, 3);
        IndexOutOfBoundsException range = assertThrows(IndexOutOfBoundsException.class,
                () -> logits.crossEntropy(Tensor.indices(0, 3)));
        assertTrue(range.getMessage().contains("crossEntropy") && range.getMessage().contains("target 3")
                && range.getMessage().contains("[0, 3)"), range.getMessage());
        IllegalArgumentException frac = assertThrows(IllegalArgumentException.class,
                () -> logits.crossEntropy(Tensor.of(new float[] {0.5f, 1f}, 2)));
        assertTrue(frac.getMessage().contains("0.5"), frac.getMessage());
        IllegalArgumentException shape = assertThrows(IllegalArgumentException.class,
                () -> logits.crossEntropy(Tensor.indices(0, 1, 2)));
        assertTrue(shape.getMessage().contains("[2, 3]") && shape.getMessage().contains("[3]"), shape.getMessage());
    }

    // ---------------------------------------------------------------- embedding

    @Test
    void embeddingPicksRowsOfTheWeightForEveryId() {
        Tensor weight = randn(41, 6, 3);
        int[][] ids = {{0, 5, 2}, {2, 2, 1}};
        Tensor out = Tensor.embedding(weight, Tensor.indices(ids));
        assertEquals(Shapes.format(new int[] {2, 3, 3}), Shapes.format(out.shape()));
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 3; j++) {
                for (int k = 0; k < 3; k++) assertEquals(weight.get(ids[i][j], k), out.get(i, j, k));
            }
        }
        Tensor transposed = weight.transpose(0, 1).contiguous().transpose(0, 1); // same values, strided
        Tensor out2 = Tensor.embedding(transposed, Tensor.indices(4, 0));
        for (int k = 0; k < 3; k++) assertEquals(weight.get(4, k), out2.get(0, k));
    }

    @Test
    void embeddingRejectsIdOutsideTheVocabulary() {
        Tensor weight = Tensor.zeros(5, 2);
        IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class,
                () -> Tensor.embedding(weight, Tensor.indices(1, 7)));
        assertTrue(e.getMessage().contains("embedding") && e.getMessage().contains("id 7")
                && e.getMessage().contains("vocab size 5"), e.getMessage());
        assertThrows(IndexOutOfBoundsException.class, () -> Tensor.embedding(weight, Tensor.indices(-1)));
    }
}
