package dev.loupe.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Transcendental functions on whole float vectors, for the SIMD kernels. Each is a range reduction plus a short
 * polynomial in float lanes, several times faster than {@code FloatVector.lanewise(EXP)} and accurate to a few ulp
 * (the bounds, held against double-precision {@link Math}, are in {@code VectorMathTest}). Every function treats
 * NaN, ±inf, ±0 and subnormal inputs as {@link Scalar} does.
 *
 * <p>The methods are small on purpose: a kernel loop must inline them, or C2 boxes the vectors.
 */
final class VectorMath {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private static final float LOG2E = (float) (1 / Math.log(2));
    /** ln 2 split so that {@code k * LN2_HI} is exact for |k| &lt; 2^12 (Cody–Waite reduction). */
    private static final float LN2_HI = Float.intBitsToFloat(Float.floatToIntBits((float) Math.log(2)) & 0xFFFFF000);
    private static final float LN2_LO = (float) (Math.log(2) - LN2_HI);
    /** 1.5 * 2^23: adding it rounds a float below 2^22 to an integer, which then sits in the low mantissa bits. */
    private static final float ROUNDER = 0x1.8p23f;
    private static final int ROUNDER_BITS = Float.floatToIntBits(ROUNDER);
    /** Taylor coefficients 1/k! of expm1 on |r| &lt;= ln2/2; the degree-7 remainder is below 6e-9. */
    private static final float E2 = 1f / 2, E3 = 1f / 6, E4 = 1f / 24, E5 = 1f / 120, E6 = 1f / 720, E7 = 1f / 5040;
    private static final float SQRT_HALF = (float) Math.sqrt(0.5);
    private static final float SQRT_2_OVER_PI = (float) Math.sqrt(2 / Math.PI);
    private static final float INV_SQRT_2PI = (float) (1 / Math.sqrt(2 * Math.PI));
    private static final float GELU_CUBIC = 0.044715f;

    /** erfcx(z) = e^(z²)·erfc(z) on z in [0, ERFC_ZMAX], fitted in w = 1/(1 + z) (see {@link #fitErfcx}). */
    private static final float ERFC_ZMAX = 10f;
    private static final int ERFC_DEGREE = 14;
    /** The Chebyshev fit re-expanded in powers of t, for a Horner evaluation that C2 can inline. */
    private static final float[] ERFC_POLY = new float[ERFC_DEGREE];

    static {
        fitErfcx();
    }

    private VectorMath() {
    }

    // ---------------------------------------------------------------- exp family

    /** e^x: exact reduction x = n·ln2 + r, |r| &lt;= ln2/2, then 2^n·(1 + expm1(r)); max error ~2 ulp. */
    static FloatVector exp(FloatVector x) {
        // Beyond these bounds e^x is 0 or inf in float; clamping keeps n within the scaling below (NaN stays NaN).
        FloatVector xc = x.max(-105f).min(89f);
        FloatVector t = xc.fma(LOG2E, ROUNDER);
        FloatVector n = t.sub(ROUNDER);
        IntVector ni = t.reinterpretAsInts().sub(ROUNDER_BITS);
        FloatVector r = n.mul(-LN2_HI).add(xc).add(n.mul(-LN2_LO)); // n·LN2_HI is exact
        FloatVector p = expm1Poly(r).add(1f);
        // 2^n as two factors, so both halves are normal floats even when e^x is subnormal or overflows.
        IntVector n1 = ni.lanewise(VectorOperators.ASHR, 1);
        IntVector n2 = ni.sub(n1);
        return p.mul(pow2(n1)).mul(pow2(n2));
    }

    /**
     * {@code y[yo + i] = e^(x[xo + i] - shift)} for i in [0, n), returning their sum (lanes added in a fixed order);
     * {@code y} may be {@code x} at the same offset. The same arithmetic as {@link #exp}, bit for bit, but written out
     * inside the loop: a kernel loop that calls {@link #exp} gets it inlined only while C2 has not yet compiled
     * {@code exp} on its own; once it has (it is hot in every caller that still runs interpreted or in C1), C2 refuses
     * to inline the "already compiled big method", the vectors crossing the call are boxed, and the loop runs about
     * ten times slower. Which happens first depends on JIT timing, so the hot loops (softmax, the GELU's Gaussian,
     * {@code Tensor.exp}) call this instead.
     */
    static float expShiftedRow(float[] x, int xo, float shift, float[] y, int yo, int n) {
        FloatVector sum = FloatVector.zero(S);
        FloatVector e3 = c(E3), e4 = c(E4), e5 = c(E5), e2 = c(E2);
        for (int i = 0; i < n; i += S.length()) {
            VectorMask<Float> m = S.indexInRange(i, n);
            FloatVector xc = FloatVector.fromArray(S, x, xo + i, m).sub(shift).max(-105f).min(89f);
            FloatVector t = xc.fma(LOG2E, ROUNDER);
            FloatVector k = t.sub(ROUNDER);
            IntVector ni = t.reinterpretAsInts().sub(ROUNDER_BITS);
            FloatVector r = k.mul(-LN2_HI).add(xc).add(k.mul(-LN2_LO));
            FloatVector q = r.fma(E7, E6).fma(r, e5).fma(r, e4).fma(r, e3).fma(r, e2);
            FloatVector p = q.mul(r).fma(r, r).add(1f);
            IntVector n1 = ni.lanewise(VectorOperators.ASHR, 1);
            IntVector n2 = ni.sub(n1);
            FloatVector s1 = n1.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector s2 = n2.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector e = p.mul(s1).mul(s2);
            e.intoArray(y, yo + i, m);
            sum = sum.add(e, m);
        }
        return sum.reduceLanes(VectorOperators.ADD);
    }

    /** e^x - 1 for x &lt;= 0 (what tanh and sigmoid need), accurate relative to the result near 0. */
    static FloatVector expm1NonPositive(FloatVector x) {
        FloatVector xc = x.max(-30f); // e^-30 - 1 is -1 in float
        FloatVector t = xc.fma(LOG2E, ROUNDER);
        FloatVector n = t.sub(ROUNDER);
        IntVector ni = t.reinterpretAsInts().sub(ROUNDER_BITS);
        FloatVector r = n.mul(-LN2_HI).add(xc).add(n.mul(-LN2_LO)); // n·LN2_HI is exact
        FloatVector scale = pow2(ni);
        // 2^n·(1 + q) - 1 = 2^n·q + (2^n - 1); for n = 0 it is q itself, so no cancellation near x = 0.
        return expm1Poly(r).fma(scale, scale.sub(1f));
    }

    /** r + r²/2 + ... + r^7/7!. */
    private static FloatVector expm1Poly(FloatVector r) {
        FloatVector p = r.fma(E7, E6).fma(r, c(E5)).fma(r, c(E4)).fma(r, c(E3)).fma(r, c(E2));
        return p.mul(r).fma(r, r);
    }

    private static FloatVector c(float v) {
        return FloatVector.broadcast(S, v);
    }

    /** 2^n for n in [-126, 127], built in the exponent field. */
    private static FloatVector pow2(IntVector n) {
        return n.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
    }

    /** tanh x = sign(x)·(-m / (m + 2)) with m = expm1(-2|x|), which neither overflows nor cancels. */
    static FloatVector tanh(FloatVector x) {
        FloatVector m = expm1NonPositive(x.abs().mul(-2f));
        FloatVector t = m.neg().div(m.add(2f));
        return copySign(t, x);
    }

    /** 1 / (1 + e^-x), from e = e^-|x| so that neither tail loses relative accuracy. */
    static FloatVector sigmoid(FloatVector x) {
        FloatVector e = exp(x.abs().neg());
        FloatVector p = FloatVector.broadcast(S, 1f).div(e.add(1f));
        return p.blend(e.mul(p), x.lt(0f));
    }

    /** {@code magnitude} with the sign bit of {@code sign}. */
    static FloatVector copySign(FloatVector magnitude, FloatVector sign) {
        IntVector m = magnitude.reinterpretAsInts().and(0x7FFFFFFF);
        IntVector s = sign.reinterpretAsInts().and(0x80000000);
        return m.or(s).reinterpretAsFloats();
    }

    // ---------------------------------------------------------------- log

    /**
     * ln x: x = 2^e·m with m in [√½, √2), ln m = 2·atanh(f), f = (m - 1)/(m + 1) (|f| &lt;= 0.172, odd series to
     * f^9); max error ~2 ulp. Negative and NaN give NaN, ±0 gives -inf, +inf gives +inf.
     */
    static FloatVector log(FloatVector x) {
        VectorMask<Float> sub = x.lt(Float.MIN_NORMAL);
        FloatVector xs = x.blend(x.mul(0x1p23f), sub); // subnormals scaled into the normal range
        IntVector bits = xs.reinterpretAsInts();
        // Exponent relative to √½, so that the mantissa lands in [√½, √2) rather than [1, 2).
        IntVector k = bits.sub(Float.floatToIntBits(SQRT_HALF)).lanewise(VectorOperators.ASHR, 23);
        FloatVector m = bits.sub(k.lanewise(VectorOperators.LSHL, 23)).reinterpretAsFloats();
        FloatVector e = ((FloatVector) k.convert(VectorOperators.I2F, 0)).sub(
                FloatVector.zero(S).blend(23f, sub));
        FloatVector f = m.sub(1f).div(m.add(1f));
        FloatVector s = f.mul(f);
        FloatVector series = s.fma(2f / 9, 2f / 7).fma(s, c(2f / 5)).fma(s, c(2f / 3)).mul(s); // 2(f³/3 + ...)/f
        FloatVector lnm = series.fma(f, f.add(f));
        FloatVector y = e.mul(LN2_HI).add(e.mul(LN2_LO).add(lnm)); // e·LN2_HI is exact
        y = y.blend(Float.NEGATIVE_INFINITY, x.eq(0f));
        y = y.blend(Float.POSITIVE_INFINITY, x.eq(Float.POSITIVE_INFINITY));
        return y.blend(Float.NaN, x.lt(0f).or(x.test(VectorOperators.IS_NAN)));
    }

    // ---------------------------------------------------------------- GELU

    /** 0.5·x·(1 + tanh u), u = √(2/π)(x + 0.044715x³), written as x·σ(2u) so the negative tail keeps accuracy. */
    static FloatVector geluTanh(FloatVector x) {
        return x.mul(sigmoid(geluU(x).mul(2f)));
    }

    /** d/dx of {@link #geluTanh}: σ + 2x·σ(1 - σ)·u', with σ(1 - σ) = e·p² (no cancellation for large |u|). */
    static FloatVector geluTanhGrad(FloatVector x) {
        FloatVector u2 = geluU(x).mul(2f);
        FloatVector e = exp(u2.abs().neg());
        FloatVector p = FloatVector.broadcast(S, 1f).div(e.add(1f));
        FloatVector s = p.blend(e.mul(p), u2.lt(0f));
        FloatVector du = x.mul(x).fma(3 * GELU_CUBIC * SQRT_2_OVER_PI, SQRT_2_OVER_PI);
        FloatVector tail = x.add(x).mul(du).mul(e.mul(p).mul(p));
        // Where σ(1 - σ) underflows to 0 the term is 0 even if 2x·u' overflowed (only an infinite x gives NaN).
        tail = tail.blend(0f, e.eq(0f).and(x.abs().lt(Float.POSITIVE_INFINITY)));
        return tail.add(s);
    }

    private static FloatVector geluU(FloatVector x) {
        FloatVector x2 = x.mul(x);
        return x2.fma(GELU_CUBIC, 1f).mul(x).mul(SQRT_2_OVER_PI);
    }

    /**
     * {@code y[yo + i] = x·Φ(x)} with x = {@code x[xo + i]}, Φ the standard normal CDF, or its derivative
     * Φ(x) + x·φ(x) when {@code grad}; {@code g[i]} holds e^(-x²/2) ({@link #expHalfSquareNegRow}). Φ(x) = ½·erfc(-x/√2)
     * from one branch-free formula: with z = |x|/√2, erfc(z) = e^(-z²)·erfcx(z), erfcx from the polynomial fit
     * ({@link #fitErfcx}, clamped to z &lt;= 10: beyond, e^(-z²) underflows anyway); Φ(x) is ½·erfc(z) for x &lt;= 0
     * and 1 - ½·erfc(z) above, NaN passing through. Written out inside the loop for the reason given at
     * {@link #expShiftedRow}.
     */
    static void geluErfRow(float[] x, int xo, float[] g, float[] y, int yo, int n, boolean grad) {
        float lo = 1f / (1f + ERFC_ZMAX), tScale = 2f / (1f - lo), tShift = (1f + lo) / (1f - lo);
        float[] a = ERFC_POLY;
        FloatVector one = c(1f);
        FloatVector a0 = c(a[0]), a1 = c(a[1]), a2 = c(a[2]), a3 = c(a[3]), a4 = c(a[4]), a5 = c(a[5]), a6 = c(a[6]);
        FloatVector a7 = c(a[7]), a8 = c(a[8]), a9 = c(a[9]), a10 = c(a[10]), a11 = c(a[11]);
        for (int i = 0; i < n; i += S.length()) {
            VectorMask<Float> m = S.indexInRange(i, n);
            FloatVector v = FloatVector.fromArray(S, x, xo + i, m);
            FloatVector gauss = FloatVector.fromArray(S, g, i, m);
            FloatVector z = v.abs().mul(SQRT_HALF);
            FloatVector w = one.div(z.min(ERFC_ZMAX).add(1f));
            FloatVector t = w.mul(tScale).sub(tShift); // [lo, 1] -> [-1, 1]
            FloatVector p = t.fma(a[13], a[12]).fma(t, a11).fma(t, a10).fma(t, a9).fma(t, a8).fma(t, a7).fma(t, a6)
                    .fma(t, a5).fma(t, a4).fma(t, a3).fma(t, a2).fma(t, a1).fma(t, a0);
            FloatVector halfErfc = p.mul(gauss).mul(0.5f);
            FloatVector cdf = halfErfc.blend(one.sub(halfErfc), v.compare(VectorOperators.GT, 0f))
                    .blend(v, v.test(VectorOperators.IS_NAN));
            FloatVector r = grad ? v.mul(INV_SQRT_2PI).mul(gauss).add(cdf) : v.mul(cdf);
            r.intoArray(y, yo + i, m);
        }
    }

    /**
     * {@code g[i] = e^(-x[xo + i]²/2)} for i in [0, n), with x² split into a rounded part and its exact error, so
     * large |x| lose no relative accuracy: e^(-hi/2) through {@link #expShiftedRow} (see there why a row), then the
     * factor (1 - lo/2). Three short passes; {@code g} should be small enough to stay in L1.
     */
    static void expHalfSquareNegRow(float[] x, int xo, float[] g, int n) {
        for (int i = 0; i < n; i += S.length()) {
            VectorMask<Float> m = S.indexInRange(i, n);
            // e^-200 is 0 in float; the clamp keeps inf·inf - inf (NaN) out of the error term.
            FloatVector v = FloatVector.fromArray(S, x, xo + i, m).max(-20f).min(20f);
            v.mul(v).mul(-0.5f).intoArray(g, i, m);
        }
        expShiftedRow(g, 0, 0f, g, 0, n);
        for (int i = 0; i < n; i += S.length()) {
            VectorMask<Float> m = S.indexInRange(i, n);
            FloatVector v = FloatVector.fromArray(S, x, xo + i, m).max(-20f).min(20f);
            FloatVector lo = v.fma(v, v.mul(v).neg());
            FloatVector.fromArray(S, g, i, m).mul(lo.fma(-0.5f, 1f)).intoArray(g, i, m);
        }
    }

    /**
     * Chebyshev interpolation of erfcx(z) = e^(z²)·erfc(z) in w = 1/(1 + z) on [1/(1 + ERFC_ZMAX), 1], at class
     * load: erfcx is smooth there and degree 14 fits it to 3e-9 relative. Values: 1 - erf (from {@link Erf}, exact
     * enough) below z = 2; above, the continued fraction √π·erfcx(z) = 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + ...)))),
     * converged in double.
     */
    private static void fitErfcx() {
        int n = ERFC_DEGREE;
        double lo = 1.0 / (1 + ERFC_ZMAX);
        double[] values = new double[n];
        for (int j = 0; j < n; j++) {
            double t = Math.cos(Math.PI * (j + 0.5) / n);
            double z = 1 / (lo + (1 - lo) * (t + 1) / 2) - 1;
            if (z < 2) {
                values[j] = (1 - Erf.erf(z)) * Math.exp(z * z);
            } else {
                double f = z;
                for (int k = 2000; k >= 1; k--) f = z + (k / 2.0) / f;
                values[j] = 1 / (Math.sqrt(Math.PI) * f);
            }
        }
        // Σ' c_k T_k(t) re-expanded in powers of t (T_(k+1) = 2t·T_k - T_(k-1)), in double; the powers' coefficients
        // stay below 1 in magnitude here, so float Horner loses nothing to cancellation.
        double[] poly = new double[n], prev = new double[n], cur = new double[n];
        prev[0] = 1; // T_0
        cur[1] = 1; // T_1
        for (int k = 0; k < n; k++) {
            double s = 0;
            for (int j = 0; j < n; j++) s += values[j] * Math.cos(Math.PI * k * (j + 0.5) / n);
            double ck = (k == 0 ? 1.0 : 2.0) * s / n;
            double[] tk = k == 0 ? prev : cur;
            for (int i = 0; i < n; i++) poly[i] += ck * tk[i];
            if (k >= 1) {
                double[] next = new double[n];
                for (int i = 0; i < n - 1; i++) next[i + 1] = 2 * cur[i];
                for (int i = 0; i < n; i++) next[i] -= prev[i];
                prev = cur;
                cur = next;
            }
        }
        for (int i = 0; i < n; i++) ERFC_POLY[i] = (float) poly[i];
    }
}
