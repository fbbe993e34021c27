package dev.loupe.tensor.cpu;

import static dev.loupe.tensor.cpu.VectorMath.S;

import dev.loupe.tensor.UnaryOp;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Unary maps over one row of {@code n} contiguous floats, {@code y[oy + i] = op(x[ox + i])}, in SIMD.
 *
 * <p>No loop here takes its function as a lambda: a loop shared by several lambdas is compiled once with a
 * megamorphic call site, C2 leaves the function out of line and boxes every vector (the Vector API's slow Java
 * fallback). The cheap ops share one loop with a switch on the op; each transcendental op has its own loop, and
 * the exact GELU runs as two passes over a chunk so that neither loop outgrows C2's inlining budget. Every loop is
 * masked throughout (one copy of the body; masked loads and stores cost next to nothing with AVX-512), so the tail
 * runs the same code and an element's result never depends on its position.
 */
final class UnaryKernels {
    private static final int L = S.length();
    /** Elements per chunk of the two-pass GELU: its scratch stays in L1. */
    private static final int GELU_CHUNK = 512;
    /** Per-thread scratch for {@link #geluErf}'s first pass, so the hot loop never allocates. */
    private static final ThreadLocal<float[]> GELU_SCRATCH = ThreadLocal.withInitial(() -> new float[GELU_CHUNK]);

    private UnaryKernels() {
    }

    /** {@code y[oy + i] = op(x[ox + i])} for i in [0, n); {@code y} may be {@code x} at the same offset. */
    static void row(UnaryOp op, float[] x, int ox, float[] y, int oy, int n, float p0, float p1) {
        switch (op) {
            case EXP -> exp(x, ox, y, oy, n);
            case LOG -> log(x, ox, y, oy, n);
            case TANH -> tanh(x, ox, y, oy, n);
            case SIGMOID -> sigmoid(x, ox, y, oy, n);
            case GELU_ERF -> geluErf(x, ox, y, oy, n, false);
            case GELU_ERF_GRAD -> geluErf(x, ox, y, oy, n, true);
            case GELU_TANH -> geluTanh(x, ox, y, oy, n);
            case GELU_TANH_GRAD -> geluTanhGrad(x, ox, y, oy, n);
            case POW_SCALAR -> powScalar(x, ox, y, oy, n, p0);
            default -> cheap(op, x, ox, y, oy, n, p0, p1);
        }
    }

    /**
     * The ops of a few instructions each, in one loop with the op chosen by a switch on a loop-invariant value.
     * {@code POW_SCALAR} is taken here only for the exponent 3 (see {@link #powScalar}).
     */
    private static void cheap(UnaryOp op, float[] x, int ox, float[] y, int oy, int n, float p0, float p1) {
        if (op == UnaryOp.POW_SCALAR && p0 != 3f) throw new AssertionError("only x^3 runs here, not x^" + p0);
        FloatVector one = FloatVector.broadcast(S, 1f);
        for (int i = 0; i < n; i += L) {
            VectorMask<Float> m = S.indexInRange(i, n);
            FloatVector v = FloatVector.fromArray(S, x, ox + i, m);
            FloatVector r = switch (op) {
                case NEG -> v.neg();
                case SQRT -> v.sqrt();
                case RSQRT -> one.div(v.sqrt());
                // x > 0 ? x : 0, so NaN maps to 0 as in Scalar.
                case RELU -> FloatVector.zero(S).blend(v, v.compare(VectorOperators.GT, 0f));
                case ABS -> v.abs();
                case SQUARE -> v.mul(v);
                case RECIPROCAL -> one.div(v);
                // ±1 for non-zero x; ±0 and NaN pass through, as Math.signum.
                case SIGN -> v.blend(1f, v.compare(VectorOperators.GT, 0f)).blend(-1f, v.lt(0f));
                case ADD_SCALAR -> v.add(p0);
                case MUL_SCALAR -> v.mul(p0);
                case CLAMP -> v.max(p0).min(p1);
                case POW_SCALAR -> v.mul(v).mul(v);
                default -> throw new AssertionError(op + " is not a cheap op");
            };
            r.intoArray(y, oy + i, m);
        }
    }

    private static void exp(float[] x, int ox, float[] y, int oy, int n) {
        VectorMath.expShiftedRow(x, ox, 0f, y, oy, n);
    }

    private static void log(float[] x, int ox, float[] y, int oy, int n) {
        for (int i = 0; i < n; i += L) {
            VectorMask<Float> m = S.indexInRange(i, n);
            VectorMath.log(FloatVector.fromArray(S, x, ox + i, m)).intoArray(y, oy + i, m);
        }
    }

    private static void tanh(float[] x, int ox, float[] y, int oy, int n) {
        for (int i = 0; i < n; i += L) {
            VectorMask<Float> m = S.indexInRange(i, n);
            VectorMath.tanh(FloatVector.fromArray(S, x, ox + i, m)).intoArray(y, oy + i, m);
        }
    }

    private static void sigmoid(float[] x, int ox, float[] y, int oy, int n) {
        for (int i = 0; i < n; i += L) {
            VectorMask<Float> m = S.indexInRange(i, n);
            VectorMath.sigmoid(FloatVector.fromArray(S, x, ox + i, m)).intoArray(y, oy + i, m);
        }
    }

    private static void geluTanh(float[] x, int ox, float[] y, int oy, int n) {
        for (int i = 0; i < n; i += L) {
            VectorMask<Float> m = S.indexInRange(i, n);
            VectorMath.geluTanh(FloatVector.fromArray(S, x, ox + i, m)).intoArray(y, oy + i, m);
        }
    }

    private static void geluTanhGrad(float[] x, int ox, float[] y, int oy, int n) {
        for (int i = 0; i < n; i += L) {
            VectorMask<Float> m = S.indexInRange(i, n);
            VectorMath.geluTanhGrad(FloatVector.fromArray(S, x, ox + i, m)).intoArray(y, oy + i, m);
        }
    }

    /**
     * x·Φ(x), or its derivative Φ(x) + x·φ(x) when {@code grad}, chunk by chunk in two passes: e^(-x²/2) into a
     * scratch row ({@link VectorMath#expHalfSquareNegRow}), then the erfcx polynomial and the combination
     * ({@link VectorMath#geluErfRow}). (In one loop, C2 reaches its node budget and boxes the vectors.)
     */
    private static void geluErf(float[] x, int ox, float[] y, int oy, int n, boolean grad) {
        float[] g = GELU_SCRATCH.get();
        for (int c = 0; c < n; c += GELU_CHUNK) {
            int len = Math.min(GELU_CHUNK, n - c);
            VectorMath.expHalfSquareNegRow(x, ox + c, g, len);
            VectorMath.geluErfRow(x, ox + c, g, y, oy + c, len, grad);
        }
    }

    /** Exponents 1, 2, 3 and -1 in SIMD (each within 1 ulp of Math.pow); any other through Math.pow. */
    private static void powScalar(float[] x, int ox, float[] y, int oy, int n, float p0) {
        if (p0 == 1f) {
            System.arraycopy(x, ox, y, oy, n);
        } else if (p0 == 2f) {
            cheap(UnaryOp.SQUARE, x, ox, y, oy, n, 0f, 0f);
        } else if (p0 == 3f) {
            cheap(UnaryOp.POW_SCALAR, x, ox, y, oy, n, 3f, 0f);
        } else if (p0 == -1f) {
            cheap(UnaryOp.RECIPROCAL, x, ox, y, oy, n, 0f, 0f);
        } else {
            for (int i = 0; i < n; i++) y[oy + i] = (float) Math.pow(x[ox + i], p0);
        }
    }
}
