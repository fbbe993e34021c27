package dev.loupe.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

/** The vectorized exp the softmax kernels use ({@link VectorMath#exp}), against {@link Math#exp} in double. */
class NNKernelsExpTest {
    private static float[] exp(float... x) {
        float[] y = new float[x.length];
        VectorSpecies<Float> s = VectorMath.S;
        for (int i = 0; i < x.length; i += s.length()) {
            VectorMask<Float> m = s.indexInRange(i, x.length);
            VectorMath.exp(FloatVector.fromArray(s, x, i, m)).intoArray(y, i, m);
        }
        return y;
    }

    @Test
    void rowFormIsTheSameArithmeticBitForBitAndSumsWhatItWrites() {
        int n = 1003;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = -120f + 220f * i / (n - 1);
        x[5] = Float.NaN;
        x[6] = Float.NEGATIVE_INFINITY;
        float shift = 3.25f;
        float[] shifted = new float[n];
        for (int i = 0; i < n; i++) shifted[i] = x[i] - shift;
        float[] expected = exp(shifted), y = new float[n + 4];
        float sum = VectorMath.expShiftedRow(x, 0, shift, y, 4, n);
        for (int i = 0; i < n; i++) {
            assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(y[4 + i]), "e^(" + shifted[i] + ")");
        }
        assertTrue(Float.isNaN(sum), "a NaN input makes the sum NaN");
        float[] finite = java.util.Arrays.copyOfRange(x, 100, 400); // below the overflow bound: a finite sum
        double ref = 0;
        for (float v : finite) ref += Math.exp(v - shift);
        float inPlace = VectorMath.expShiftedRow(finite, 0, shift, finite, 0, finite.length);
        assertEquals(ref, inPlace, ref * 1e-5);
        for (int i = 0; i < finite.length; i++) {
            assertEquals(Float.floatToIntBits(expected[100 + i]), Float.floatToIntBits(finite[i]), "in place " + i);
        }
    }

    @Test
    void halfSquareRowMatchesDoublePrecisionWithRelativeAccuracyAtLargeX() {
        int n = 777;
        float[] x = new float[n], g = new float[n];
        for (int i = 0; i < n; i++) x[i] = -13.5f + 27f * i / (n - 1);
        VectorMath.expHalfSquareNegRow(x, 0, g, n);
        for (int i = 0; i < n; i++) {
            double e = Math.exp(-(double) x[i] * x[i] / 2);
            if (!(Math.abs(g[i] - e) <= 2e-6 * e)) fail("e^(-x²/2) at " + x[i] + " = " + g[i] + " but " + e);
        }
    }

    @Test
    void relativeErrorIsBelowOneInAMillionOverTheNormalRange() {
        int n = 400_003; // not a multiple of the vector length, so the masked tail runs too
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = -87.3f + (88.7f + 87.3f) * i / (n - 1);
        float[] y = exp(x);
        double worst = 0;
        for (int i = 0; i < n; i++) {
            double e = Math.exp(x[i]);
            double rel = Math.abs(y[i] - e) / e;
            worst = Math.max(worst, rel);
            if (!(rel < 1e-6)) fail("exp(" + x[i] + ") = " + y[i] + " but Math.exp gives " + e);
        }
        assertTrue(worst < 1e-6, "worst relative error " + worst);
    }

    @Test
    void smallArgumentsAreExactToAboutOneUlp() {
        float[] x = new float[2001];
        for (int i = 0; i < x.length; i++) x[i] = (i - 1000) * 1e-3f;
        float[] y = exp(x);
        for (int i = 0; i < x.length; i++) {
            double e = Math.exp(x[i]);
            assertEquals(e, y[i], 2 * Math.ulp((float) e), "exp(" + x[i] + ")");
        }
    }

    @Test
    void subnormalResultsAreCloseInAbsoluteTerms() {
        float[] x = new float[1000];
        for (int i = 0; i < x.length; i++) x[i] = -103.9f + 16.5f * i / x.length; // results 1e-45 .. 1e-38
        float[] y = exp(x);
        for (int i = 0; i < x.length; i++) {
            double e = Math.exp(x[i]);
            assertEquals(e, y[i], Math.max(2 * Float.MIN_VALUE, 1e-6 * e), "exp(" + x[i] + ")");
        }
    }

    @Test
    void specialValuesFollowMathExp() {
        float[] x = {Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, Float.NaN, 0f, -0f, 89f, 1e30f, -200f, -1e30f,
            88.7f};
        float[] y = exp(x);
        assertEquals(0f, y[0]);
        assertEquals(Float.POSITIVE_INFINITY, y[1]);
        assertTrue(Float.isNaN(y[2]));
        assertEquals(1f, y[3]);
        assertEquals(1f, y[4]);
        assertEquals(Float.POSITIVE_INFINITY, y[5]);
        assertEquals(Float.POSITIVE_INFINITY, y[6]);
        assertEquals(0f, y[7]);
        assertEquals(0f, y[8]);
        assertEquals(Math.exp(88.7f), y[9], 1e-6 * Math.exp(88.7f));
        assertEquals((float) Math.exp(-2.5), exp(-2.5f)[0], Math.ulp((float) Math.exp(-2.5)) * 2);
    }
}
