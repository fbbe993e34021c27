package dev.loupe.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.ToDoubleFunction;
import org.junit.jupiter.api.Test;

/**
 * Reductions over every dim, keepdim both ways, against double-precision references computed from the elements
 * read through {@link Tensor#get}. Shapes are chosen so that the SIMD row path (reduced dim contiguous), the column
 * path (kept dims contiguous) and the strided fallback all run, with tails and sums longer than one chunk.
 */
class ReductionTest {
    /** Inputs named by layout; all rank 3 so every dim is exercised. */
    private static Map<String, Tensor> inputs() {
        Rng rng = new Rng(17);
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("[3,4,37]", Tensor.randn(rng, 3, 4, 37));
        m.put("[2,150,40]", Tensor.randn(rng, 2, 150, 40));
        m.put("[1,2,1500]", Tensor.randn(rng, 1, 2, 1500));
        m.put("transposed [37,5,3]", Tensor.randn(rng, 3, 5, 37).permute(2, 1, 0));
        m.put("sliced", Tensor.randn(rng, 4, 6, 70).slice(2, 1, 70, 2).narrow(1, 1, 4));
        m.put("broadcast", Tensor.randn(rng, 1, 5, 33).expand(3, 5, 33));
        return m;
    }

    /** Expected values of a reduction over {@code dim} with keepdim: {@code f} of the values along that dim. */
    private static void check(String what, Tensor x, int dim, boolean keepdim, Tensor got, ToDoubleFunction<double[]> f,
                              double abs, double rel) {
        int[] kept = x.shape();
        int size = kept[dim];
        kept[dim] = 1;
        int[] gotShape = keepdim ? kept : Shapes.remove(kept, dim);
        assertArrayEquals(gotShape, got.shape(), what + " shape");
        Tensor g = keepdim ? got : got.unsqueeze(dim);
        for (int o = 0; o < Shapes.numel(kept); o++) {
            int[] c = Reference.coords(kept, o);
            double[] v = new double[size];
            for (int k = 0; k < size; k++) {
                c[dim] = k;
                v[k] = x.get(c);
            }
            c[dim] = 0;
            Reference.assertClose(f.applyAsDouble(v), g.get(c), abs, rel, what + " at " + java.util.Arrays.toString(c));
        }
    }

    private static double sum(double[] v) {
        double s = 0;
        for (double e : v) s += e;
        return s;
    }

    private static double max(double[] v) {
        double m = Double.NEGATIVE_INFINITY;
        for (double e : v) m = Double.isNaN(e) || Double.isNaN(m) ? Double.NaN : Math.max(m, e);
        return m;
    }

    private static double min(double[] v) {
        double[] n = new double[v.length];
        for (int i = 0; i < v.length; i++) n[i] = -v[i];
        return -max(n);
    }

    /** Index of the first max (or NaN). */
    private static double argmax(double[] v) {
        double m = max(v);
        for (int i = 0; i < v.length; i++) if (v[i] == m || (Double.isNaN(m) && Double.isNaN(v[i]))) return i;
        throw new AssertionError();
    }

    private static double var(double[] v, int correction) {
        double mean = sum(v) / v.length, s = 0;
        for (double e : v) s += (e - mean) * (e - mean);
        return s / (v.length - correction);
    }

    private static double norm(double[] v, double p) {
        double s = 0;
        for (double e : v) s += Math.pow(Math.abs(e), p);
        return Math.pow(s, 1 / p);
    }

    private static double logsumexp(double[] v) {
        double s = 0;
        for (double e : v) s += Math.exp(e);
        return Math.log(s);
    }

    @Test
    void everyReductionOverEveryDimMatchesItsReference() {
        for (var e : inputs().entrySet()) {
            Tensor x = e.getValue();
            for (int dim = 0; dim < 3; dim++) {
                for (boolean keep : new boolean[] {true, false}) {
                    String at = e.getKey() + " dim " + dim + (keep ? " keepdim" : "");
                    int d = dim;
                    check("sum " + at, x, d, keep, x.sum(d, keep), ReductionTest::sum, 1e-5, 1e-5);
                    check("mean " + at, x, d, keep, x.mean(d, keep), v -> sum(v) / v.length, 1e-6, 1e-5);
                    check("max " + at, x, d, keep, x.max(d, keep), ReductionTest::max, 0, 0);
                    check("min " + at, x, d, keep, x.min(d, keep), ReductionTest::min, 0, 0);
                    check("argmax " + at, x, d, keep, x.argmax(d, keep), ReductionTest::argmax, 0, 0);
                    check("argmin " + at, x, d, keep, x.argmin(d, keep), v -> {
                        double[] n = new double[v.length];
                        for (int i = 0; i < v.length; i++) n[i] = -v[i];
                        return argmax(n);
                    }, 0, 0);
                    check("logsumexp " + at, x, d, keep, x.logsumexp(d, keep), ReductionTest::logsumexp, 1e-5, 1e-5);
                    check("var0 " + at, x, d, keep, x.var(d, keep, 0), v -> var(v, 0), 1e-5, 1e-4);
                    check("var1 " + at, x, d, keep, x.var(d, keep, 1), v -> var(v, 1), 1e-5, 1e-4);
                    for (double p : new double[] {1, 2, 3}) {
                        check("norm" + p + " " + at, x, d, keep, x.norm((float) p, d, keep), v -> norm(v, p), 1e-5, 1e-5);
                    }
                }
            }
        }
    }

    @Test
    void sumAndMeanOverSeveralDimsAndAll() {
        Tensor x = Tensor.randn(new Rng(2), 3, 4, 37);
        Tensor s = x.sum(new int[] {2, 0}, false), m = x.mean(new int[] {0, -1}, true);
        assertArrayEquals(new int[] {4}, s.shape());
        assertArrayEquals(new int[] {1, 4, 1}, m.shape());
        double total = 0;
        for (int j = 0; j < 4; j++) {
            double acc = 0;
            for (int i = 0; i < 3; i++) for (int k = 0; k < 37; k++) acc += x.get(i, j, k);
            Reference.assertClose(acc, s.get(j), 1e-5, 1e-5, "sum over {0, 2}");
            Reference.assertClose(acc / (3 * 37), m.get(0, j, 0), 1e-6, 1e-5, "mean over {0, 2}");
            total += acc;
        }
        Reference.assertClose(total, x.sum().item(), 1e-4, 1e-5, "sum of all");
        assertEquals(0, x.sum().rank());
        Reference.assertClose(total / x.numel(), x.mean().item(), 1e-6, 1e-5, "mean of all");
    }

    @Test
    void cosineSimilarityMatchesItsDefinitionIncludingBroadcastOperands() {
        Rng rng = new Rng(4);
        Tensor a = Tensor.randn(rng, 1, 4), b = Tensor.randn(rng, 3, 4);
        for (int dim = 0; dim < 2; dim++) {
            Tensor got = a.cosineSimilarity(b, dim, 1e-8f);
            Tensor ea = a.expand(3, 4);
            int d = dim;
            int[] kept = d == 0 ? new int[] {1, 4} : new int[] {3, 1};
            for (int o = 0; o < Shapes.numel(kept); o++) {
                int[] c = Reference.coords(kept, o);
                double dot = 0, na = 0, nb = 0;
                for (int k = 0; k < (d == 0 ? 3 : 4); k++) {
                    c[d] = k;
                    dot += ea.get(c) * b.get(c);
                    na += ea.get(c) * ea.get(c);
                    nb += b.get(c) * b.get(c);
                }
                Reference.assertClose(dot / Math.sqrt(na) / Math.sqrt(nb), got.get(c[1 - d]), 1e-6, 1e-5,
                        "cosineSimilarity dim " + d);
            }
        }
        // Norms are clamped at eps: a zero vector gives 0, not NaN.
        assertEquals(0f, Tensor.zeros(3).cosineSimilarity(Tensor.ones(3), 0, 1e-8f).item());
    }

    @Test
    void maxArgmaxAndLogsumexpPropagateNaNAndHandleInfinities() {
        float nan = Float.NaN, inf = Float.POSITIVE_INFINITY;
        // rows: NaN in the middle, all -inf, one +inf, -inf among finite values (37 long: SIMD path and tail)
        float[][] rows = new float[4][37];
        for (float[] r : rows) java.util.Arrays.fill(r, 1f);
        rows[0][20] = nan;
        rows[0][30] = nan;
        java.util.Arrays.fill(rows[1], -inf);
        rows[2][36] = inf;
        rows[3][3] = -inf;
        Tensor x = Tensor.of(rows);
        assertArrayEquals(new float[] {nan, -inf, inf, 1}, x.max(1, false).toFloatArray());
        assertArrayEquals(new float[] {20, 0, 36, 0}, x.argmax(1, false).toFloatArray());
        assertArrayEquals(new float[] {20, 0, 0, 3}, x.argmin(1, false).toFloatArray());
        assertArrayEquals(new float[] {nan, -inf, 1, -inf}, x.min(1, false).toFloatArray());
        float[] lse = x.logsumexp(1, false).toFloatArray();
        assertTrue(Float.isNaN(lse[0]));
        assertEquals(-inf, lse[1]);
        assertEquals(inf, lse[2]);
        assertEquals((float) (1 + Math.log(36)), lse[3], 1e-6f);
        // The same along a column (the column SIMD path).
        Tensor t = x.transpose(0, 1).contiguous();
        assertArrayEquals(new float[] {nan, -inf, inf, 1}, t.max(0, false).toFloatArray());
        assertArrayEquals(new float[] {20, 0, 36, 0}, t.argmax(0, false).toFloatArray());
        assertArrayEquals(new float[] {nan, -inf, 1, -inf}, t.min(0, false).toFloatArray());
        assertTrue(Float.isNaN(x.sum(1, false).toFloatArray()[0]));
    }

    @Test
    void emptyAndOutOfRangeDimsAreClearErrors() {
        Tensor empty = Tensor.zeros(2, 0);
        for (var op : Map.<String, Runnable>of(
                "max", () -> empty.max(1, false), "min", () -> empty.min(1, true),
                "argmax", () -> empty.argmax(1, false), "argmin", () -> empty.argmin(-1, false),
                "logsumexp", () -> empty.logsumexp(1, false)).entrySet()) {
            var e = assertThrows(IllegalArgumentException.class, op.getValue()::run, op.getKey());
            assertTrue(e.getMessage().startsWith(op.getKey() + ":") && e.getMessage().contains("[2, 0]"), e.getMessage());
        }
        assertArrayEquals(new float[] {0, 0}, empty.sum(1, false).toFloatArray());
        assertTrue(Float.isNaN(empty.mean(1, false).toFloatArray()[0]));
        Tensor x = Tensor.zeros(2, 3);
        var e = assertThrows(IllegalArgumentException.class, () -> x.sum(2));
        assertTrue(e.getMessage().contains("sum") && e.getMessage().contains("dim 2"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> x.mean(-3));
        assertThrows(IllegalArgumentException.class, () -> x.var(5, false, 0));
        assertThrows(IllegalArgumentException.class, () -> x.sum(new int[] {1, -1}, false));
        assertThrows(IllegalArgumentException.class, () -> x.norm(0f, 0, false));
        assertThrows(IllegalArgumentException.class, () -> x.norm(Float.POSITIVE_INFINITY, 0, false));
        assertThrows(IllegalArgumentException.class, () -> x.sumTo(4));
    }

    @Test
    void sumOfAScalarIsAFreshTensorNotAnAlias() {
        Tensor s = Tensor.scalar(3f);
        Tensor r = s.sum();
        r.fill(5f);
        assertEquals(3f, s.item());
    }
}
