package dev.loupe.tensor.cpu;

import static dev.loupe.tensor.cpu.VectorMath.S;

import dev.loupe.tensor.UnaryOp;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Unary maps over one row of {@code n} contiguous floats, {@code y[oy + i] = op(x[ox + i])}, in SIMD.
 *
 * <p>Every op has its own small method so that each is compiled on its own with {@link #map} and its vector
 * function inlined (vectors never cross a call that C2 might leave out of line, which would box them). The tail of
 * a row runs through the same function, so an element's result never depends on its position.
 */
final class UnaryKernels {
    private static final int L = S.length();

    private UnaryKernels() {
    }

    /** A function of whole vectors; implementations must be small enough for C2 to inline. */
    @FunctionalInterface
    interface VectorFn {
        FloatVector apply(FloatVector v);
    }

    /** {@code y[oy + i] = op(x[ox + i])} for i in [0, n). */
    static void row(UnaryOp op, float[] x, int ox, float[] y, int oy, int n, float p0, float p1) {
        switch (op) {
            case NEG -> neg(x, ox, y, oy, n);
            case EXP -> exp(x, ox, y, oy, n);
            case LOG -> log(x, ox, y, oy, n);
            case SQRT -> sqrt(x, ox, y, oy, n);
            case RSQRT -> rsqrt(x, ox, y, oy, n);
            case TANH -> tanh(x, ox, y, oy, n);
            case RELU -> relu(x, ox, y, oy, n);
            case SIGMOID -> sigmoid(x, ox, y, oy, n);
            case ABS -> abs(x, ox, y, oy, n);
            case SQUARE -> square(x, ox, y, oy, n);
            case RECIPROCAL -> reciprocal(x, ox, y, oy, n);
            case SIGN -> sign(x, ox, y, oy, n);
            case GELU_ERF -> geluErf(x, ox, y, oy, n);
            case GELU_TANH -> geluTanh(x, ox, y, oy, n);
            case GELU_ERF_GRAD -> geluErfGrad(x, ox, y, oy, n);
            case GELU_TANH_GRAD -> geluTanhGrad(x, ox, y, oy, n);
            case ADD_SCALAR -> addScalar(x, ox, y, oy, n, p0);
            case MUL_SCALAR -> mulScalar(x, ox, y, oy, n, p0);
            case POW_SCALAR -> powScalar(x, ox, y, oy, n, p0);
            case CLAMP -> clamp(x, ox, y, oy, n, p0, p1);
        }
    }

    /**
     * The loop every op shares, masked throughout: one call site of {@code f} (a second, for an unmasked tail
     * variant, doubles the inlined code and pushes the larger functions past C2's node budget, which boxes).
     * Masked loads and stores cost next to nothing with AVX-512.
     */
    static void map(float[] x, int ox, float[] y, int oy, int n, VectorFn f) {
        for (int i = 0; i < n; i += L) {
            VectorMask<Float> m = S.indexInRange(i, n);
            f.apply(FloatVector.fromArray(S, x, ox + i, m)).intoArray(y, oy + i, m);
        }
    }

    private static void neg(float[] x, int ox, float[] y, int oy, int n) {
        map(x, ox, y, oy, n, FloatVector::neg);
    }

    private static void exp(float[] x, int ox, float[] y, int oy, int n) {
        map(x, ox, y, oy, n, VectorMath::exp);
    }

    private static void log(float[] x, int ox, float[] y, int oy, int n) {
        map(x, ox, y, oy, n, VectorMath::log);
    }

    private static void sqrt(float[] x, int ox, float[] y, int oy, int n) {
        map(x, ox, y, oy, n, FloatVector::sqrt);
    }

    private static void rsqrt(float[] x, int ox, float[] y, int oy, int n) {
        map(x, ox, y, oy, n, v -> FloatVector.broadcast(S, 1f).div(v.sqrt()));
    }

    private static void tanh(float[] x, int ox, float[] y, int oy, int n) {
        map(x, ox, y, oy, n, VectorMath::tanh);
    }

    private static void relu(float[] x, int ox, float[] y, int oy, int n) {
        // x > 0 ? x : 0, so NaN maps to 0 as in Scalar.
        map(x, ox, y, oy, n, v -> FloatVector.zero(S).blend(v, v.compare(VectorOperators.GT, 0f)));
    }

    private static void sigmoid(float[] x, int ox, float[] y, int oy, int n) {
        map(x, ox, y, oy, n, VectorMath::sigmoid);
    }

    private static void abs(float[] x, int ox, float[] y, int oy, int n) {
        map(x, ox, y, oy, n, FloatVector::abs);
    }

    private static void square(float[] x, int ox, float[] y, int oy, int n) {
        map(x, ox, y, oy, n, v -> v.mul(v));
    }

    private static void reciprocal(float[] x, int ox, float[] y, int oy, int n) {
        map(x, ox, y, oy, n, v -> FloatVector.broadcast(S, 1f).div(v));
    }

    private static void sign(float[] x, int ox, float[] y, int oy, int n) {
        // ±1 for non-zero x; ±0 and NaN pass through, as Math.signum.
        map(x, ox, y, oy, n, v -> v.blend(1f, v.compare(VectorOperators.GT, 0f)).blend(-1f, v.lt(0f)));
    }

    private static void geluErf(float[] x, int ox, float[] y, int oy, int n) {
        map(x, ox, y, oy, n, VectorMath::geluErf);
    }

    private static void geluTanh(float[] x, int ox, float[] y, int oy, int n) {
        map(x, ox, y, oy, n, VectorMath::geluTanh);
    }

    private static void geluErfGrad(float[] x, int ox, float[] y, int oy, int n) {
        map(x, ox, y, oy, n, VectorMath::geluErfGrad);
    }

    private static void geluTanhGrad(float[] x, int ox, float[] y, int oy, int n) {
        map(x, ox, y, oy, n, VectorMath::geluTanhGrad);
    }

    private static void addScalar(float[] x, int ox, float[] y, int oy, int n, float p0) {
        map(x, ox, y, oy, n, v -> v.add(p0));
    }

    private static void mulScalar(float[] x, int ox, float[] y, int oy, int n, float p0) {
        map(x, ox, y, oy, n, v -> v.mul(p0));
    }

    /** Exponents 1, 2, 3 and -1 in SIMD (each within 1 ulp of Math.pow); any other through Math.pow. */
    private static void powScalar(float[] x, int ox, float[] y, int oy, int n, float p0) {
        if (p0 == 1f) {
            System.arraycopy(x, ox, y, oy, n);
        } else if (p0 == 2f) {
            square(x, ox, y, oy, n);
        } else if (p0 == 3f) {
            map(x, ox, y, oy, n, v -> v.mul(v).mul(v));
        } else if (p0 == -1f) {
            reciprocal(x, ox, y, oy, n);
        } else {
            for (int i = 0; i < n; i++) y[oy + i] = (float) Math.pow(x[ox + i], p0);
        }
    }

    private static void clamp(float[] x, int ox, float[] y, int oy, int n, float lo, float hi) {
        map(x, ox, y, oy, n, v -> v.max(lo).min(hi));
    }
}
