package dev.loupe.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;

/**
 * Every {@link UnaryOp} and {@link BinaryOp} on contiguous, transposed, sliced and broadcast operands, against
 * {@link Reference} evaluated in double precision on the elements read through the views with {@link Tensor#get}.
 * Rows are 37 long so that the 16-lane SIMD paths also run their masked tails.
 */
class ElementwiseTest {
    private static final int ROWS = 4, COLS = 37;
    private static final double ABS = 1e-6, REL = 1e-6;

    /** Values on a grid of halves (so comparisons meet ties), plus specials, laid out as [n]. */
    private static float[] values(long seed, int n, boolean positive) {
        Rng rng = new Rng(seed);
        float[] v = new float[n];
        float[] specials = {0f, -0f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 1e-40f, 88f, -90f};
        for (int i = 0; i < n; i++) {
            v[i] = i < specials.length && seed % 2 == 0 ? specials[i]
                    : i % 3 == 0 ? Math.round(rng.nextGaussian() * 4) / 2f : (float) (rng.nextGaussian() * 3);
            if (positive) v[i] = Math.abs(v[i]) + 0.25f;
        }
        return v;
    }

    /** The same [ROWS, COLS] logical operand in four layouts; "broadcast" repeats one row. */
    private static Map<String, Tensor> layouts(long seed, boolean positive) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        float[] v = values(seed, 3 * ROWS * COLS, positive);
        m.put("contiguous", Tensor.of(java.util.Arrays.copyOf(v, ROWS * COLS), ROWS, COLS));
        m.put("transposed", Tensor.of(java.util.Arrays.copyOf(v, ROWS * COLS), COLS, ROWS).transpose(0, 1));
        m.put("sliced", Tensor.of(v, 3 * ROWS, COLS).slice(0, 1, 3 * ROWS, 3));
        m.put("broadcast", Tensor.of(java.util.Arrays.copyOf(v, COLS), 1, COLS).expand(ROWS, COLS));
        m.put("column", Tensor.of(java.util.Arrays.copyOf(v, ROWS), ROWS, 1).expand(ROWS, COLS));
        return m;
    }

    private static void assertMatches(Tensor got, int[] shape, BiFunction<int[], Integer, Double> want, String what) {
        assertArrayEquals(shape, got.shape(), what + " shape");
        for (int f = 0; f < got.numel(); f++) {
            int[] c = Reference.coords(shape, f);
            // The reference rounded to float: overflow to inf and underflow to 0 are then expected too.
            Reference.assertClose((float) (double) want.apply(c, f), got.get(c), ABS, REL, what + " at " + java.util.Arrays.toString(c));
        }
    }

    private static void checkUnary(UnaryOp op, float p0, float p1, boolean positive) {
        for (var e : layouts(op.ordinal() * 2L, positive).entrySet()) {
            Tensor a = e.getValue();
            Tensor out = Tensor.zeros(a.shape());
            a.backend().unary(op, a, p0, p1, out);
            assertMatches(out, a.shape(), (c, f) -> Reference.unary(op, a.get(c), p0, p1), op + " " + e.getKey());
        }
    }

    @Test
    void everyUnaryOpMatchesTheDoublePrecisionReferenceInEveryLayout() {
        for (UnaryOp op : UnaryOp.values()) {
            switch (op) {
                case POW_SCALAR -> {
                    for (float p : new float[] {1f, 2f, 3f, -1f, 0.5f, 1.7f, -2.5f}) checkUnary(op, p, 0, false);
                    checkUnary(op, 1.7f, 0, true);
                }
                case CLAMP -> checkUnary(op, -0.5f, 0.75f, false);
                case ADD_SCALAR, MUL_SCALAR -> checkUnary(op, -1.25f, 0, false);
                default -> {
                    checkUnary(op, 0, 0, false);
                    checkUnary(op, 0, 0, true);
                }
            }
        }
    }

    @Test
    void everyBinaryOpMatchesTheReferenceForEveryPairOfLayouts() {
        for (BinaryOp op : BinaryOp.values()) {
            boolean positive = op == BinaryOp.POW;
            Map<String, Tensor> as = layouts(11, positive), bs = layouts(12, false);
            for (var ea : as.entrySet()) {
                for (var eb : bs.entrySet()) {
                    Tensor a = ea.getValue(), b = op == BinaryOp.EQ || op == BinaryOp.NE ? ea.getValue().abs() : eb.getValue();
                    Tensor out = Elementwise.binary(op, a, b);
                    assertMatches(out, new int[] {ROWS, COLS},
                            (c, f) -> Reference.binary(op, a.get(c), b.get(c)), op + " " + ea.getKey() + "/" + eb.getKey());
                }
            }
        }
    }

    @Test
    void binaryOpsBroadcastRowsColumnsAndScalarsAsNumPyDoes() {
        Rng rng = new Rng(3);
        Tensor x = Tensor.randn(rng, 2, 3, 37), bias = Tensor.randn(rng, 37), col = Tensor.randn(rng, 2, 3, 1);
        Tensor s = Tensor.scalar(1.5f), left = Tensor.randn(rng, 3, 1);
        assertMatches(x.add(bias), new int[] {2, 3, 37}, (c, f) -> (double) x.get(c) + bias.get(c[2]), "bias add");
        assertMatches(x.mul(col), new int[] {2, 3, 37}, (c, f) -> (double) x.get(c) * col.get(c[0], c[1], 0), "row scale");
        assertMatches(s.sub(x), new int[] {2, 3, 37}, (c, f) -> 1.5 - x.get(c), "scalar - x");
        assertMatches(left.div(bias), new int[] {3, 37}, (c, f) -> (double) left.get(c[0], 0) / bias.get(c[1]), "outer div");
        assertMatches(x.maximum(s), new int[] {2, 3, 37}, (c, f) -> Math.max(x.get(c), 1.5), "max with scalar");
    }

    @Test
    void comparisonsGiveOnesAndZerosIncludingTiesAndNaN() {
        Tensor a = Tensor.of(new float[] {1, 2, 3, Float.NaN, -0f}, 5);
        Tensor b = Tensor.of(new float[] {1, 3, 2, Float.NaN, 0f}, 5);
        assertArrayEquals(new float[] {1, 0, 0, 0, 1}, a.eq(b).toFloatArray());
        assertArrayEquals(new float[] {0, 1, 1, 1, 0}, a.ne(b).toFloatArray());
        assertArrayEquals(new float[] {0, 1, 0, 0, 0}, a.lt(b).toFloatArray());
        assertArrayEquals(new float[] {1, 1, 0, 0, 1}, a.le(b).toFloatArray());
        assertArrayEquals(new float[] {0, 0, 1, 0, 0}, a.gt(b).toFloatArray());
        assertArrayEquals(new float[] {1, 0, 1, 0, 1}, a.ge(b).toFloatArray());
        assertArrayEquals(new float[] {0, 0, 1, 0, 0}, a.gt(2f).toFloatArray());
    }

    @Test
    void whereAndMaskedFillPickElementwiseWithBroadcasting() {
        Rng rng = new Rng(5);
        Tensor cond = Tensor.randn(rng, 3, 1, 37).gt(0f), a = Tensor.randn(rng, 4, 37), b = Tensor.scalar(-7f);
        Tensor w = Tensor.where(cond, a, b);
        assertMatches(w, new int[] {3, 4, 37}, (c, f) -> cond.get(c[0], 0, c[2]) != 0 ? a.get(c[1], c[2]) : -7.0, "where");
        Tensor x = Tensor.randn(rng, 37, 4).transpose(0, 1);
        Tensor mask = Tensor.randn(rng, 37).lt(0f);
        Tensor filled = x.maskedFill(mask, Float.NEGATIVE_INFINITY);
        assertMatches(filled, new int[] {4, 37},
                (c, f) -> mask.get(c[1]) != 0 ? Double.NEGATIVE_INFINITY : x.get(c), "maskedFill");
        // A NaN condition counts as true (non-zero).
        assertEquals(1f, Tensor.where(Tensor.scalar(Float.NaN), Tensor.scalar(1f), Tensor.scalar(2f)).item());
    }

    @Test
    void clampAndPowFrontEndsMatchTheirDefinitions() {
        Tensor x = Tensor.of(new float[] {-3, -0.5f, 0, 0.25f, 2, 9, Float.NaN}, 7);
        assertArrayEquals(new float[] {-1, -0.5f, 0, 0.25f, 1.5f, 1.5f, Float.NaN}, x.clamp(-1f, 1.5f).toFloatArray());
        Tensor p = Tensor.of(new float[] {0.5f, 1, 2, 4}, 4);
        assertArrayEquals(new float[] {(float) Math.pow(0.5, 1.5), 1, (float) Math.pow(2, 1.5), 8}, p.pow(1.5f).toFloatArray(), 1e-6f);
        assertArrayEquals(new float[] {0.25f, 1, 4, 16}, p.pow(Tensor.scalar(2f)).toFloatArray(), 1e-6f);
        assertArrayEquals(new float[] {2, 1, 0.5f, 0.25f}, p.pow(-1f).toFloatArray(), 1e-7f);
    }

    @Test
    void incompatibleShapesThrowNamingTheOpAndBothShapes() {
        var e = assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(2, 3).add(Tensor.zeros(4)));
        assertTrue(e.getMessage().contains("add") && e.getMessage().contains("[2, 3]") && e.getMessage().contains("[4]"),
                e.getMessage());
        var w = assertThrows(IllegalArgumentException.class,
                () -> Tensor.where(Tensor.zeros(2), Tensor.zeros(3), Tensor.zeros(2)));
        assertTrue(w.getMessage().contains("where") && w.getMessage().contains("[2]") && w.getMessage().contains("[3]"),
                w.getMessage());
    }

    @Test
    void frontEndUnaryMethodsAgreeWithTheirOps() {
        Tensor x = Tensor.randn(new Rng(8), 5, 33);
        assertMatches(x.gelu(), x.shape(), (c, f) -> Reference.unary(UnaryOp.GELU_ERF, x.get(c), 0, 0), "gelu");
        assertMatches(x.geluTanh(), x.shape(), (c, f) -> Reference.unary(UnaryOp.GELU_TANH, x.get(c), 0, 0), "geluTanh");
        assertMatches(x.sigmoid(), x.shape(), (c, f) -> 1 / (1 + Math.exp(-x.get(c))), "sigmoid");
        assertMatches(x.sub(2f).div(4f), x.shape(), (c, f) -> (x.get(c) - 2.0) / 4, "sub/div scalar");
        assertMatches(x.abs().rsqrt(), x.shape(), (c, f) -> 1 / Math.sqrt(Math.abs(x.get(c))), "rsqrt");
    }
}
