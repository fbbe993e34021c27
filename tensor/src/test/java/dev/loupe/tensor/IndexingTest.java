package dev.loupe.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** Indexing and joining ops: values against element-by-element references, gradients, and error messages. */
class IndexingTest {
    // ---------------------------------------------------------------- helpers

    private static Tensor randn(long seed, int... shape) {
        return Tensor.randn(new Rng(seed), shape);
    }

    /** Row-major coordinates of flat position {@code p} in {@code shape}. */
    private static int[] coords(int p, int[] shape) {
        int[] c = new int[shape.length];
        for (int i = shape.length - 1; i >= 0; i--) {
            c[i] = p % shape[i];
            p /= shape[i];
        }
        return c;
    }

    /** A tensor of {@code shape} whose element at each coordinate is {@code f(coords)}. */
    private static float[] build(int[] shape, Function<int[], Float> f) {
        float[] out = new float[Shapes.numel(shape)];
        for (int p = 0; p < out.length; p++) out[p] = f.apply(coords(p, shape));
        return out;
    }

    private static int[] with(int[] c, int dim, int v) {
        int[] r = c.clone();
        r[dim] = v;
        return r;
    }

    private static <T extends Throwable> String message(Class<T> type, Runnable r) {
        return assertThrows(type, r::run).getMessage();
    }

    private static void assertMentions(String message, String... parts) {
        for (String p : parts) assertTrue(message.contains(p), "'" + message + "' should mention '" + p + "'");
    }

    // ---------------------------------------------------------------- indexSelect

    @Test
    void indexSelectPicksSlicesAlongEveryDim() {
        Tensor base = randn(1, 5, 4, 3);
        for (Tensor a : new Tensor[] {base, base.transpose(0, 2)}) {
            for (int dim = 0; dim < 3; dim++) {
                int size = a.shape()[dim];
                int[] idx = {size - 1, 0, size - 1, 1};
                int d = dim;
                Tensor out = a.indexSelect(dim, Tensor.indices(idx));
                int[] shape = Shapes.with(a.shape(), dim, idx.length);
                assertArrayEquals(build(shape, c -> a.get(with(c, d, idx[c[d]]))), out.toFloatArray(),
                        "indexSelect dim " + dim + " of " + Shapes.format(a.shape()));
            }
        }
    }

    @Test
    void indexSelectGradientAddsBackRepeatedSlices() {
        Tensor idx = Tensor.indices(2, 0, 2);
        GradCheck.check(x -> x[0].indexSelect(1, idx), randn(2, 2, 3, 4));
        GradCheck.check(x -> x[0].transpose(0, 1).indexSelect(0, idx), randn(3, 2, 3));
    }

    // ---------------------------------------------------------------- gather / scatterAdd

    @Test
    void gatherReadsTheIndexedElementAlongDim() {
        Tensor base = randn(4, 4, 5);
        float[][] index = {{0, 4, 4}, {3, 1, 0}, {2, 2, 2}};
        Tensor idx = Tensor.of(index); // [3, 3]: smaller than the input off dim, as PyTorch allows
        for (Tensor a : new Tensor[] {base, base.transpose(0, 1).contiguous().transpose(0, 1)}) {
            Tensor out = a.gather(1, idx);
            assertArrayEquals(build(new int[] {3, 3}, c -> a.get(c[0], (int) index[c[0]][c[1]])), out.toFloatArray());
        }
        Tensor byRows = base.gather(0, Tensor.of(new float[][] {{3, 0}, {1, 1}}));
        assertArrayEquals(new float[] {base.get(3, 0), base.get(0, 1), base.get(1, 0), base.get(1, 1)},
                byRows.toFloatArray());
    }

    @Test
    void gatherGradientScattersBack() {
        Tensor idx = Tensor.of(new float[][] {{0, 2, 2}, {1, 1, 0}});
        GradCheck.check(x -> x[0].gather(1, idx), randn(5, 2, 3));
        GradCheck.check(x -> x[0].transpose(0, 1).gather(0, idx), randn(6, 4, 3));
    }

    @Test
    void scatterAddAddsSourceAtIndexWithoutChangingInput() {
        Tensor a = randn(7, 3, 4);
        Tensor src = randn(8, 3, 3);
        float[][] index = {{0, 0, 3}, {1, 2, 1}}; // [2, 3]: only this corner of src is used
        Tensor out = a.scatterAdd(1, Tensor.of(index), src);
        float[] expected = a.toFloatArray();
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 3; j++) expected[i * 4 + (int) index[i][j]] += src.get(i, j);
        }
        assertArrayEquals(expected, out.toFloatArray(), 1e-6f);
        assertArrayEquals(a.toFloatArray(), randn(7, 3, 4).toFloatArray(), "input unchanged");
    }

    @Test
    void scatterAddGradientReachesInputAndSource() {
        Tensor idx = Tensor.of(new float[][] {{0, 0, 3}, {1, 2, 1}});
        GradCheck.check(x -> x[0].scatterAdd(1, idx, x[1]), randn(9, 3, 4), randn(10, 2, 3));
        GradCheck.check(x -> x[0].scatterAdd(1, idx, x[1]), randn(11, 2, 4), randn(12, 3, 5)); // src larger
        GradCheck.check(x -> x[0].scatterAdd(0, idx, x[1].transpose(0, 1)), randn(13, 4, 3), randn(14, 3, 2));
    }

    // ---------------------------------------------------------------- cat / stack / split

    @Test
    void catJoinsAlongEveryDim() {
        Tensor a = randn(15, 2, 3), b = randn(16, 4, 3).transpose(0, 1).transpose(0, 1).slice(0, 0, 4, 2);
        Tensor joined = Tensor.cat(0, a, b);
        assertArrayEquals(build(new int[] {4, 3}, c -> c[0] < 2 ? a.get(c) : b.get(c[0] - 2, c[1])),
                joined.toFloatArray());
        Tensor at = a.transpose(0, 1), c3 = randn(17, 3, 1);
        Tensor wide = Tensor.cat(-1, at, c3);
        assertArrayEquals(build(new int[] {3, 3}, c -> c[1] < 2 ? at.get(c) : c3.get(c[0], 0)), wide.toFloatArray());
    }

    @Test
    void catGradientIsTheSliceOfEachInput() {
        GradCheck.check(x -> Tensor.cat(1, x[0], x[1].transpose(1, 2), x[2]),
                randn(18, 2, 1, 3), randn(19, 2, 3, 2), randn(20, 2, 4, 3));
    }

    @Test
    void stackJoinsAlongANewDim() {
        Tensor a = randn(21, 2, 3), b = randn(22, 2, 3);
        Tensor s = Tensor.stack(1, a, b);
        assertArrayEquals(new int[] {2, 2, 3}, s.shape());
        assertArrayEquals(build(new int[] {2, 2, 3}, c -> (c[1] == 0 ? a : b).get(c[0], c[2])), s.toFloatArray());
        assertArrayEquals(new int[] {2, 3, 2}, Tensor.stack(-1, a, b).shape());
        GradCheck.check(x -> Tensor.stack(2, x[0], x[1].transpose(0, 1)), randn(23, 2, 3), randn(24, 3, 2));
    }

    @Test
    void splitIntoChunksLeavesTheRemainderLast() {
        Tensor a = randn(25, 2, 7);
        List<Tensor> parts = a.split(1, 3);
        assertEquals(3, parts.size());
        int[] widths = {3, 3, 1};
        for (int p = 0; p < 3; p++) {
            int start = 3 * p;
            assertArrayEquals(new int[] {2, widths[p]}, parts.get(p).shape());
            assertArrayEquals(build(new int[] {2, widths[p]}, c -> a.get(c[0], start + c[1])),
                    parts.get(p).toFloatArray());
        }
        assertEquals(1, a.split(0, 5).size(), "one chunk when the size exceeds the dim");
    }

    @Test
    void splitBySizesGivesExactPiecesAndGradientsFlow() {
        Tensor a = randn(26, 6, 2);
        List<Tensor> parts = a.split(0, 1, 0, 5);
        assertEquals(List.of("[1, 2]", "[0, 2]", "[5, 2]"),
                parts.stream().map(t -> Shapes.format(t.shape())).toList());
        assertArrayEquals(Arrays.copyOfRange(a.toFloatArray(), 2, 12), parts.get(2).toFloatArray());
        GradCheck.check(x -> {
            List<Tensor> ps = x[0].split(0, 2, 4);
            return ps.get(0).mul(3f).sum().add(ps.get(1).square().sum());
        }, randn(27, 6, 2));
        GradCheck.check(x -> x[0].split(1, 2).get(1).tanh(), randn(28, 2, 5));
    }

    // ---------------------------------------------------------------- topK

    /** Columns of one row in the order topK must return: by value (largest or smallest first), ties by column. */
    private static List<Integer> order(float[] row, boolean largest) {
        List<Integer> cols = new ArrayList<>();
        for (int i = 0; i < row.length; i++) cols.add(i);
        cols.sort((i, j) -> {
            int byValue = largest ? Float.compare(row[j], row[i]) : Float.compare(row[i], row[j]);
            return byValue != 0 ? byValue : Integer.compare(i, j);
        });
        return cols;
    }

    @Test
    void topKReturnsSortedValuesAndIndicesWithTiesByLowerIndex() {
        Tensor a = Tensor.of(new float[][] {{3, 1, 3, 7, -2, 7, 0}, {5, 5, 5, 5, 5, 5, 5}, {-1, 2, -3, 4, -5, 6, -7}});
        for (boolean largest : new boolean[] {true, false}) {
            for (int k : new int[] {0, 1, 3, 7}) {
                Tensor.TopK top = a.topK(k, 1, largest);
                assertArrayEquals(new int[] {3, k}, top.values().shape());
                for (int r = 0; r < 3; r++) {
                    float[] row = a.select(0, r).toFloatArray();
                    List<Integer> want = order(row, largest).subList(0, k);
                    for (int j = 0; j < k; j++) {
                        assertEquals((float) want.get(j), top.indices().get(r, j), "index, row " + r + " k " + k);
                        assertEquals(row[want.get(j)], top.values().get(r, j), "value, row " + r + " k " + k);
                    }
                }
            }
        }
    }

    @Test
    void topKOfLongRowsAndNonLastDimMatchesSortedReference() {
        Tensor base = randn(29, 3, 500);
        Tensor a = base.transpose(0, 1); // [500, 3]: topK over dim 0 of a strided view
        Tensor.TopK top = a.topK(5, 0, true);
        assertArrayEquals(new int[] {5, 3}, top.values().shape());
        for (int c = 0; c < 3; c++) {
            float[] col = base.select(0, c).toFloatArray();
            List<Integer> want = order(col, true);
            for (int j = 0; j < 5; j++) {
                assertEquals((float) want.get(j), top.indices().get(j, c));
                assertEquals(col[want.get(j)], top.values().get(j, c));
            }
        }
        assertEquals(Float.NaN, Tensor.of(new float[] {1, Float.NaN, 2}, 3).topK(1, 0, true).values().get(0),
                "nan counts as the largest, as in PyTorch");
    }

    @Test
    void topKGradientGoesToTheChosenElementsOnly() {
        // Values spaced far apart, so the finite-difference steps never reorder them.
        float[] v = {3, -1, 7, 0.5f, -4, 2, 9, -6, 1, 5, -2, 4};
        Tensor a = Tensor.of(v, 3, 4);
        GradCheck.check(x -> x[0].topK(2, 1, true).values(), a);
        GradCheck.check(x -> x[0].topK(2, 0, false).values(), a);
        Tensor.TopK top = a.topK(1, 1, true);
        assertFalse(top.indices().requiresGrad());
    }

    // ---------------------------------------------------------------- errors

    @Test
    void badDimsAreRejectedNamingTheOp() {
        Tensor a = Tensor.zeros(2, 3);
        assertMentions(message(IllegalArgumentException.class, () -> a.indexSelect(2, Tensor.indices(0))),
                "indexSelect", "dim 2");
        assertMentions(message(IllegalArgumentException.class, () -> a.gather(-3, Tensor.zeros(2, 3))), "gather");
        assertMentions(message(IllegalArgumentException.class, () -> Tensor.cat(2, a, a)), "cat", "dim 2");
        assertMentions(message(IllegalArgumentException.class, () -> Tensor.stack(3, a, a)), "stack", "dim 3");
        assertMentions(message(IllegalArgumentException.class, () -> a.split(5, 1)), "split", "dim 5");
        assertMentions(message(IllegalArgumentException.class, () -> a.topK(4, 1, true)), "topK", "k = 4", "[2, 3]");
    }

    @Test
    void outOfRangeIndicesNameTheValueAndTheRange() {
        Tensor a = Tensor.zeros(2, 3);
        assertMentions(message(IndexOutOfBoundsException.class, () -> a.indexSelect(1, Tensor.indices(0, 3))),
                "indexSelect", "index 3", "[0, 3)");
        assertMentions(message(IndexOutOfBoundsException.class, () -> a.gather(0, Tensor.indices(new int[][] {{-1}}))),
                "gather", "index -1", "[0, 2)");
        assertMentions(message(IndexOutOfBoundsException.class,
                () -> a.scatterAdd(1, Tensor.indices(new int[][] {{5}}), Tensor.ones(1, 1))),
                "scatterAdd", "index 5", "[0, 3)");
    }

    @Test
    void nonIntegerIndicesAreRejected() {
        Tensor a = Tensor.zeros(2, 3);
        assertMentions(message(IllegalArgumentException.class,
                () -> a.indexSelect(0, Tensor.of(new float[] {0.5f}, 1))), "indexSelect", "0.5");
        assertMentions(message(IllegalArgumentException.class,
                () -> a.gather(1, Tensor.of(new float[] {Float.NaN}, 1, 1))), "gather", "NaN");
    }

    @Test
    void indexShapesThatDoNotFitAreRejectedNamingTheShapes() {
        Tensor a = Tensor.zeros(2, 3);
        assertMentions(message(IllegalArgumentException.class, () -> a.gather(1, Tensor.zeros(3, 1))),
                "gather", "[2, 3]", "[3, 1]");
        assertMentions(message(IllegalArgumentException.class, () -> a.gather(1, Tensor.zeros(2))), "gather", "rank");
        assertMentions(message(IllegalArgumentException.class,
                () -> a.scatterAdd(1, Tensor.zeros(2, 2), Tensor.zeros(2, 1))), "scatterAdd", "src", "[2, 1]");
    }

    @Test
    void catShapeMismatchNamesBothShapes() {
        String m = message(IllegalArgumentException.class, () -> Tensor.cat(0, Tensor.zeros(2, 3), Tensor.zeros(2, 4)));
        assertMentions(m, "cat", "[2, 3]", "[2, 4]");
        assertMentions(message(IllegalArgumentException.class, () -> Tensor.cat(0, Tensor.zeros(2, 3), Tensor.zeros(3))),
                "cat", "[3]");
        assertMentions(message(IllegalArgumentException.class, () -> Tensor.stack(0, Tensor.zeros(2), Tensor.zeros(3))),
                "stack", "[2]", "[3]");
    }

    @Test
    void splitSizesMustAddUpToTheDim() {
        Tensor a = Tensor.zeros(2, 5);
        assertMentions(message(IllegalArgumentException.class, () -> a.split(1, 2, 2)), "split", "[2, 2]", "4", "5");
        assertMentions(message(IllegalArgumentException.class, () -> a.split(1, 0)), "split", "positive");
    }
}
