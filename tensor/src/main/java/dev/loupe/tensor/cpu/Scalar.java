package dev.loupe.tensor.cpu;

import dev.loupe.tensor.BinaryOp;
import dev.loupe.tensor.UnaryOp;

/** One-element definitions of every elementwise op: the reference that SIMD kernels must agree with. */
final class Scalar {
    private static final double SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
    private static final double INV_SQRT_2 = 1 / Math.sqrt(2);

    private Scalar() {
    }

    static float unary(UnaryOp op, float x, float p0, float p1) {
        return switch (op) {
            case NEG -> -x;
            case EXP -> (float) Math.exp(x);
            case LOG -> (float) Math.log(x);
            case SQRT -> (float) Math.sqrt(x);
            case RSQRT -> (float) (1 / Math.sqrt(x));
            case TANH -> (float) Math.tanh(x);
            case RELU -> x > 0 ? x : 0f;
            case SIGMOID -> (float) (1 / (1 + Math.exp(-x)));
            case ABS -> Math.abs(x);
            case SQUARE -> x * x;
            case RECIPROCAL -> 1f / x;
            case SIGN -> Math.signum(x);
            case GELU_ERF -> (float) (0.5 * x * (1 + Erf.erf(x * INV_SQRT_2)));
            case GELU_TANH -> (float) (0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))));
            case GELU_ERF_GRAD -> {
                double cdf = 0.5 * (1 + Erf.erf(x * INV_SQRT_2));
                double pdf = Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
                yield (float) (cdf + x * pdf);
            }
            case GELU_TANH_GRAD -> {
                double u = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
                double t = Math.tanh(u);
                double du = SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
                yield (float) (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du);
            }
            case ADD_SCALAR -> x + p0;
            case MUL_SCALAR -> x * p0;
            case POW_SCALAR -> (float) Math.pow(x, p0);
            case CLAMP -> Math.min(Math.max(x, p0), p1);
        };
    }

    static float binary(BinaryOp op, float a, float b) {
        return switch (op) {
            case ADD -> a + b;
            case SUB -> a - b;
            case MUL -> a * b;
            case DIV -> a / b;
            case POW -> (float) Math.pow(a, b);
            case MAX -> Math.max(a, b);
            case MIN -> Math.min(a, b);
            case EQ -> a == b ? 1f : 0f;
            case NE -> a != b ? 1f : 0f;
            case LT -> a < b ? 1f : 0f;
            case LE -> a <= b ? 1f : 0f;
            case GT -> a > b ? 1f : 0f;
            case GE -> a >= b ? 1f : 0f;
        };
    }
}
