package dev.loupe.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.loupe.tensor.Rng;
import dev.loupe.tensor.UnaryOp;
import java.util.function.DoubleUnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * The SIMD transcendental kernels against double-precision {@link Math} (and {@link Erf}), rounded to float, over
 * wide ranges, the extremes (±88, overflow and underflow thresholds), ±inf, NaN, ±0 and subnormals. Each op must
 * satisfy |simd - ref| &lt;= abs + rel·|ref| everywhere, and agree exactly on NaN and infinities.
 */
class VectorMathTest {
    private static final double SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

    /** Inputs every op is checked at: specials, then uniform sweeps over several scales (any length, so tails too). */
    private static float[] inputs(double range) {
        float[] specials = {0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL, -Float.MIN_NORMAL,
            1e-40f, -1e-40f, 1e-30f, -1e-30f, 1e-7f, -1e-7f, 1e-3f, -1e-3f, 0.5f, -0.5f, 1f, -1f, 0.3465f, -0.3466f,
            0.6931472f, 1.4142135f, 0.70710677f, 2f, -2f, 10f, -10f, 20f, -20f, 87.3f, -87.3f, 88f, -88f, 88.72f,
            88.73f, -88.73f, -103f, -103.97f, -104f, -110f, 89f, 100f, -100f, 1e10f, -1e10f, Float.MAX_VALUE,
            -Float.MAX_VALUE, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN};
        Rng rng = new Rng(42);
        int n = 40_003;
        float[] x = new float[specials.length + n];
        System.arraycopy(specials, 0, x, 0, specials.length);
        for (int i = 0; i < n; i++) {
            double scale = switch (i % 4) {
                case 0 -> range;
                case 1 -> 8;
                case 2 -> 1;
                default -> 1e-3;
            };
            x[specials.length + i] = (float) ((2 * rng.nextDouble() - 1) * scale);
        }
        return x;
    }

    private static void check(UnaryOp op, DoubleUnaryOperator ref, double abs, double rel, float[] x) {
        float[] y = new float[x.length];
        UnaryKernels.row(op, x, 0, y, 0, x.length, 0f, 0f);
        for (int i = 0; i < x.length; i++) {
            float want = (float) ref.applyAsDouble(x[i]);
            float got = y[i];
            if (Float.isNaN(want) || Float.isInfinite(want)) {
                assertEquals(want, got, 0f, op + " at " + x[i]);
                continue;
            }
            double err = Math.abs((double) got - want);
            if (!(err <= abs + rel * Math.abs(want))) {
                fail(op + " at x = " + x[i] + ": simd " + got + " vs reference " + want + " (error " + err + ")");
            }
        }
    }

    @Test
    void expIsWithinOneMillionthRelative() {
        // Subnormal results carry fewer bits: one unit there is allowed absolutely.
        check(UnaryOp.EXP, Math::exp, 2 * Float.MIN_VALUE, 1e-6, inputs(110));
    }

    @Test
    void logIsWithinOneMillionthRelative() {
        float[] x = inputs(1e6);
        for (int i = 0; i < x.length; i++) x[i] = i % 3 == 0 ? Math.abs(x[i]) : x[i] * x[i];
        check(UnaryOp.LOG, Math::log, 1e-7, 1e-6, x);
        check(UnaryOp.LOG, Math::log, 1e-7, 1e-6, new float[] {-1f, -0f, 0f, Float.NaN, Float.POSITIVE_INFINITY,
            Float.MIN_VALUE, 3e-39f, 1e-45f, 0.99999994f, 1.0000001f});
    }

    @Test
    void tanhAndSigmoidAreWithinOneMillionthRelative() {
        check(UnaryOp.TANH, Math::tanh, 1e-37, 1e-6, inputs(30));
        check(UnaryOp.SIGMOID, v -> 1 / (1 + Math.exp(-v)), 2 * Float.MIN_VALUE, 1e-6, inputs(120));
    }

    @Test
    void geluVariantsAndTheirDerivativesAreWithinOneMillionthAbsolute() {
        float[] x = inputs(12);
        check(UnaryOp.GELU_ERF, v -> 0.5 * v * (1 + Erf.erf(v / Math.sqrt(2))), 1e-6, 1e-6, x);
        check(UnaryOp.GELU_ERF_GRAD,
                v -> 0.5 * (1 + Erf.erf(v / Math.sqrt(2))) + v * Math.exp(-v * v / 2) / Math.sqrt(2 * Math.PI),
                1e-6, 1e-6, x);
        check(UnaryOp.GELU_TANH, v -> 0.5 * v * (1 + Math.tanh(SQRT_2_OVER_PI * (v + 0.044715 * v * v * v))),
                1e-6, 1e-6, x);
        check(UnaryOp.GELU_TANH_GRAD, v -> {
            double t = Math.tanh(SQRT_2_OVER_PI * (v + 0.044715 * v * v * v));
            return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * v * v);
        }, 1e-6, 1e-6, x);
    }
}
