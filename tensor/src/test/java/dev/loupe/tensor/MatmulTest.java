package dev.loupe.tensor;

import static dev.loupe.tensor.Reference.assertClose;
import static dev.loupe.tensor.Reference.build;
import static dev.loupe.tensor.Reference.shape;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * {@link Tensor#matmul} follows NumPy's {@code matmul}: a 1-D left operand is a row vector and a 1-D right operand a
 * column vector, each dim dropped from the result; leading dims are batch dims that broadcast. Every case is held
 * against a loop written from that definition, and its gradient against finite differences.
 */
class MatmulTest {
    private final Rng rng = new Rng(11);

    private Tensor randn(int... shape) {
        return Tensor.randn(rng, shape);
    }

    @Test
    void vectorTimesMatrixIsAVector() {
        Tensor v = randn(3), m = randn(3, 4);
        Tensor expected = build(shape(4), ix -> {
            double s = 0;
            for (int k = 0; k < 3; k++) s += v.get(k) * m.get(k, ix[0]);
            return s;
        });
        assertClose(expected, v.matmul(m));
        GradCheck.check(x -> x[0].matmul(x[1]), v, m);
    }

    @Test
    void matrixTimesVectorIsAVector() {
        Tensor m = randn(3, 4), v = randn(4);
        Tensor expected = build(shape(3), ix -> {
            double s = 0;
            for (int k = 0; k < 4; k++) s += m.get(ix[0], k) * v.get(k);
            return s;
        });
        assertClose(expected, m.matmul(v));
        GradCheck.check(x -> x[0].matmul(x[1]), m, v);
    }

    @Test
    void vectorTimesVectorIsTheDotProductWithShapeEmpty() {
        Tensor u = randn(5), v = randn(5);
        double s = 0;
        for (int k = 0; k < 5; k++) s += u.get(k) * v.get(k);
        Tensor d = u.matmul(v);
        assertArrayEquals(new int[0], d.shape());
        assertEquals(s, d.item(), 1e-5);
        GradCheck.check(x -> x[0].matmul(x[1]), u, v);
    }

    @Test
    void vectorsAgainstBatchedMatricesKeepTheBatch() {
        Tensor v = randn(4), batch = randn(2, 4, 5), batchL = randn(2, 3, 4);
        Tensor left = build(shape(2, 5), ix -> { // [k] @ [b, k, n] -> [b, n]
            double s = 0;
            for (int k = 0; k < 4; k++) s += v.get(k) * batch.get(ix[0], k, ix[1]);
            return s;
        });
        Tensor right = build(shape(2, 3), ix -> { // [b, m, k] @ [k] -> [b, m]
            double s = 0;
            for (int k = 0; k < 4; k++) s += batchL.get(ix[0], ix[1], k) * v.get(k);
            return s;
        });
        assertClose(left, v.matmul(batch));
        assertClose(right, batchL.matmul(v));
        GradCheck.check(x -> x[0].matmul(x[1]), v, batch);
        GradCheck.check(x -> x[0].matmul(x[1]), batchL, v);
    }

    @Test
    void batchDimsBroadcast() {
        Tensor a = randn(2, 1, 3, 4), b = randn(5, 4, 6); // -> [2, 5, 3, 6]
        Tensor expected = build(shape(2, 5, 3, 6), ix -> {
            double s = 0;
            for (int k = 0; k < 4; k++) s += a.get(ix[0], 0, ix[2], k) * b.get(ix[1], k, ix[3]);
            return s;
        });
        assertClose(expected, a.matmul(b));
        GradCheck.check(x -> x[0].matmul(x[1]), a, b);
    }

    @Test
    void matrixAgainstABatchBroadcastsTheMatrix() {
        Tensor a = randn(3, 4), b = randn(2, 4, 5); // -> [2, 3, 5]
        Tensor expected = build(shape(2, 3, 5), ix -> {
            double s = 0;
            for (int k = 0; k < 4; k++) s += a.get(ix[1], k) * b.get(ix[0], k, ix[2]);
            return s;
        });
        assertClose(expected, a.matmul(b));
        GradCheck.check(x -> x[0].matmul(x[1]), a, b);
    }

    @Test
    void batchedActivationsTimesAWeightMatrix() {
        // [batch, pos, d_in] @ [d_in, d_out]: the path that folds batch and pos into the rows of one product.
        Tensor acts = randn(2, 3, 4), w = randn(4, 5);
        Tensor expected = build(shape(2, 3, 5), ix -> {
            double s = 0;
            for (int k = 0; k < 4; k++) s += acts.get(ix[0], ix[1], k) * w.get(k, ix[2]);
            return s;
        });
        assertClose(expected, acts.matmul(w));
        GradCheck.check(x -> x[0].matmul(x[1]), acts, w);
    }

    @Test
    void linearIsTheProductPlusTheBiasWithItsGradients() {
        // [batch, pos, d_in] @ [d_in, d_out] + [d_out], the weight also as a transposed view.
        Tensor acts = randn(2, 3, 4), w = randn(4, 5), b = randn(5);
        Tensor expected = build(shape(2, 3, 5), ix -> {
            double s = b.get(ix[2]);
            for (int k = 0; k < 4; k++) s += acts.get(ix[0], ix[1], k) * w.get(k, ix[2]);
            return s;
        });
        assertClose(expected, acts.linear(w, b));
        assertClose(expected, acts.linear(w.transpose(0, 1).contiguous().transpose(0, 1), b));
        assertClose(acts.matmul(w), acts.linear(w, null));
        GradCheck.check(x -> x[0].linear(x[1], x[2]), acts, w, b);
        GradCheck.check(x -> x[0].linear(x[1].transpose(0, 1), x[2]), randn(3, 4), randn(5, 4), b);
        var e = assertThrows(IllegalArgumentException.class, () -> acts.linear(w, randn(4)));
        assertTrue(e.getMessage().contains("[4]") && e.getMessage().contains("[5]"), e.getMessage());
    }

    @Test
    void linearWithAnActivationEqualsTheLinearLayerThenTheActivationBitForBit() {
        // m = 2·90 rows crosses the packed kernel's 128-row bands; [2, 3, 4] @ [4, 5] takes the small direct path.
        Tensor big = randn(2, 90, 70), wBig = randn(70, 45).mul(0.2f), bBig = randn(45);
        Tensor wBigT = randn(45, 70).mul(0.2f).transpose(0, 1);
        Tensor small = randn(2, 3, 4), wSmall = randn(4, 5), bSmall = randn(5);
        for (UnaryOp act : new UnaryOp[] {UnaryOp.GELU_ERF, UnaryOp.GELU_TANH, UnaryOp.RELU, UnaryOp.TANH,
                UnaryOp.SIGMOID}) {
            assertArrayEquals(apply(act, big.linear(wBig, bBig)).toFloatArray(),
                    big.linear(wBig, bBig, act).toFloatArray(), act + " packed");
            assertArrayEquals(apply(act, big.linear(wBigT, null)).toFloatArray(),
                    big.linear(wBigT, null, act).toFloatArray(), act + " packed, transposed weight, no bias");
            assertArrayEquals(apply(act, small.linear(wSmall, bSmall)).toFloatArray(),
                    small.linear(wSmall, bSmall, act).toFloatArray(), act + " direct");
        }
        // The GELU of the exact product, in double: x·Φ(x) with Φ(x) = (1 + erf(x/√2))/2 (erf by its series).
        Tensor expected = build(shape(2, 3, 5), ix -> {
            double s = bSmall.get(ix[2]);
            for (int k = 0; k < 4; k++) s += small.get(ix[0], ix[1], k) * wSmall.get(k, ix[2]);
            return s * (1 + erf(s / Math.sqrt(2))) / 2;
        });
        assertClose(expected, small.linear(wSmall, bSmall, UnaryOp.GELU_ERF));
        // Recording gradients, it runs as the two ops and has their gradients.
        GradCheck.check(x -> x[0].linear(x[1], x[2], UnaryOp.GELU_ERF), small, wSmall, bSmall);
        var e = assertThrows(IllegalArgumentException.class, () -> small.linear(wSmall, bSmall, UnaryOp.EXP));
        assertTrue(e.getMessage().contains("EXP"), e.getMessage());
    }

    private static Tensor apply(UnaryOp act, Tensor x) {
        return switch (act) {
            case GELU_ERF -> x.gelu();
            case GELU_TANH -> x.geluTanh();
            case RELU -> x.relu();
            case TANH -> x.tanh();
            case SIGMOID -> x.sigmoid();
            default -> throw new AssertionError(act);
        };
    }

    /** erf by its Maclaurin series, converged in double for the |x| &lt; 6 these tests use. */
    private static double erf(double x) {
        double term = x, sum = x;
        for (int n = 1; n < 200; n++) {
            term *= -x * x / n;
            sum += term / (2 * n + 1);
        }
        return 2 / Math.sqrt(Math.PI) * sum;
    }

    @Test
    void transposedViewsAreReadThroughTheirStrides() {
        Tensor aT = randn(4, 3).transpose(0, 1), bT = randn(5, 4).transpose(0, 1); // [3, 4], [4, 5]
        Tensor expected = build(shape(3, 5), ix -> {
            double s = 0;
            for (int k = 0; k < 4; k++) s += aT.get(ix[0], k) * bT.get(k, ix[1]);
            return s;
        });
        assertClose(expected, aT.matmul(bT));
        GradCheck.check(x -> x[0].transpose(0, 1).matmul(x[1].transpose(0, 1)), randn(4, 3), randn(5, 4));
    }

    @Test
    void transposedBatchedViewsIncludingTheFoldPath() {
        Tensor kT = randn(2, 5, 4).transpose(1, 2); // [2, 4, 5], strided
        Tensor q = randn(2, 3, 4);
        Tensor scores = build(shape(2, 3, 5), ix -> {
            double s = 0;
            for (int d = 0; d < 4; d++) s += q.get(ix[0], ix[1], d) * kT.get(ix[0], d, ix[2]);
            return s;
        });
        assertClose(scores, q.matmul(kT));
        GradCheck.check(x -> x[0].matmul(x[1].transpose(1, 2)), q, randn(2, 5, 4));

        // [pos, batch, d] permuted to [batch, pos, d] (not contiguous) against a transposed weight.
        Tensor acts = randn(3, 2, 4).permute(1, 0, 2), wT = randn(5, 4).transpose(0, 1);
        Tensor expected = build(shape(2, 3, 5), ix -> {
            double s = 0;
            for (int k = 0; k < 4; k++) s += acts.get(ix[0], ix[1], k) * wT.get(k, ix[2]);
            return s;
        });
        assertClose(expected, acts.matmul(wT));
        GradCheck.check(x -> x[0].permute(1, 0, 2).matmul(x[1].transpose(0, 1)), randn(3, 2, 4), randn(5, 4));
    }

    @Test
    void operandUsedOnBothSidesGetsBothGradients() {
        GradCheck.check(x -> x[0].matmul(x[0]), randn(3, 3));
        GradCheck.check(x -> x[0].matmul(x[0].transpose(0, 1)), randn(2, 3));
    }

    @Test
    void emptyInnerDimGivesZeros() {
        assertClose(Tensor.zeros(3, 5), Tensor.zeros(3, 0).matmul(Tensor.zeros(0, 5)));
        assertClose(Tensor.zeros(2, 3, 5), Tensor.zeros(2, 3, 0).matmul(Tensor.zeros(2, 0, 5)));
        assertClose(Tensor.zeros(2, 3, 5), Tensor.zeros(2, 3, 0).matmul(Tensor.zeros(0, 5)));
        assertEquals(0, Tensor.zeros(2, 3, 0).reshape(6, 0).numel());
    }

    @Test
    void innerDimMismatchNamesBothShapes() {
        var e = assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(2, 3).matmul(Tensor.zeros(4, 5)));
        assertEquals("matmul: [2, 3] @ [4, 5]: inner dims 3 and 4 differ", e.getMessage());
        var v = assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(3).matmul(Tensor.zeros(4)));
        assertEquals("matmul: [3] @ [4]: inner dims 3 and 4 differ", v.getMessage());
    }

    @Test
    void batchDimsThatDoNotBroadcastAndScalarsAreRejected() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> Tensor.zeros(2, 3, 4).matmul(Tensor.zeros(3, 4, 5)));
        assertEquals("matmul: shapes [2] and [3] do not broadcast (dim 0: 2 vs 3)", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Tensor.scalar(2f).matmul(Tensor.zeros(2)));
    }
}
