package dev.loupe.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.function.ToDoubleFunction;

/**
 * Independent references for tests: expected tensors written as per-element formulas, and double-precision
 * definitions of every elementwise op (with their own erf), none of which share code with the kernels.
 */
final class Reference {
    private Reference() {
    }

    /** A tensor of {@code shape} whose element at each index is {@code f(index)}; {@code index} is reused. */
    static Tensor build(int[] shape, ToDoubleFunction<int[]> f) {
        float[] data = new float[Shapes.numel(shape)];
        int[] ix = new int[shape.length];
        for (int flat = 0; flat < data.length; flat++) {
            data[flat] = (float) f.applyAsDouble(ix);
            for (int d = shape.length - 1; d >= 0 && ++ix[d] == shape[d]; d--) ix[d] = 0; // row-major odometer
        }
        return Tensor.of(data, shape);
    }

    /** The dims as a shape, so that {@code build(shape(2, 3), ...)} reads as it means. */
    static int[] shape(int... dims) {
        return dims;
    }

    /** Same shape, and elements within 1e-4 (float32 sums of a few O(1) products). */
    static void assertClose(Tensor expected, Tensor actual) {
        assertClose(expected, actual, "");
    }

    /** {@link #assertClose(Tensor, Tensor)} with a message saying what is compared. */
    static void assertClose(Tensor expected, Tensor actual, String message) {
        assertArrayEquals(expected.shape(), actual.shape(), message + " (shape)");
        assertArrayEquals(expected.toFloatArray(), actual.toFloatArray(), 1e-4f, message);
    }

    private static final double SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);


    /**
     * erf by Simpson's rule on 2/√π·e^(-t²) over [0, |x|] with steps of at most 1/2000 (error far below 1e-10),
     * ±1 beyond |x| = 6.
     */
    static double erf(double x) {
        if (Double.isNaN(x)) return x;
        double ax = Math.min(Math.abs(x), 6);
        int n = 2 * Math.max(1, (int) Math.ceil(ax * 1000));
        double h = ax / n, s = 1 + Math.exp(-ax * ax);
        for (int i = 1; i < n; i++) {
            double t = i * h;
            s += (i % 2 == 1 ? 4 : 2) * Math.exp(-t * t);
        }
        double r = Math.abs(x) > 6 ? 1 : s * h / 3 * 2 / Math.sqrt(Math.PI);
        return x < 0 ? -r : r;
    }

    static double unary(UnaryOp op, double x, double p0, double p1) {
        return switch (op) {
            case NEG -> -x;
            case EXP -> Math.exp(x);
            case LOG -> Math.log(x);
            case SQRT -> Math.sqrt(x);
            case RSQRT -> 1 / Math.sqrt(x);
            case TANH -> Math.tanh(x);
            case RELU -> x > 0 ? x : 0;
            case SIGMOID -> 1 / (1 + Math.exp(-x));
            case ABS -> Math.abs(x);
            case SQUARE -> x * x;
            case RECIPROCAL -> 1 / x;
            case SIGN -> Math.signum(x);
            case GELU_ERF -> x * 0.5 * (1 + erf(x / Math.sqrt(2)));
            case GELU_TANH -> 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
            case GELU_ERF_GRAD -> 0.5 * (1 + erf(x / Math.sqrt(2))) + x * Math.exp(-x * x / 2) / Math.sqrt(2 * Math.PI);
            case GELU_TANH_GRAD -> {
                double t = Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x));
                yield 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
            }
            case ADD_SCALAR -> x + p0;
            case MUL_SCALAR -> x * p0;
            case POW_SCALAR -> Math.pow(x, p0);
            case CLAMP -> Math.min(Math.max(x, p0), p1);
        };
    }

    static double binary(BinaryOp op, double a, double b) {
        return switch (op) {
            case ADD -> a + b;
            case SUB -> a - b;
            case MUL -> a * b;
            case DIV -> a / b;
            case POW -> Math.pow(a, b);
            case MAX -> Math.max(a, b);
            case MIN -> Math.min(a, b);
            case EQ -> a == b ? 1 : 0;
            case NE -> a != b ? 1 : 0;
            case LT -> a < b ? 1 : 0;
            case LE -> a <= b ? 1 : 0;
            case GT -> a > b ? 1 : 0;
            case GE -> a >= b ? 1 : 0;
        };
    }

    /** Row-major coordinates of flat index {@code flat} in {@code shape}. */
    static int[] coords(int[] shape, int flat) {
        int[] c = new int[shape.length];
        for (int d = shape.length - 1; d >= 0; d--) {
            c[d] = flat % shape[d];
            flat /= shape[d];
        }
        return c;
    }

    /** Asserts |got - want| &lt;= abs + rel·|want| (NaN only against NaN, infinities exactly). */
    static void assertClose(double want, double got, double abs, double rel, String what) {
        if (Double.isNaN(want) || Double.isInfinite(want)) {
            if (Double.compare(want, got) != 0 && !(Double.isNaN(want) && Double.isNaN(got))) {
                throw new AssertionError(what + ": expected " + want + " but got " + got);
            }
            return;
        }
        if (!(Math.abs(got - want) <= abs + rel * Math.abs(want))) {
            throw new AssertionError(what + ": expected " + want + " but got " + got);
        }
    }
}
