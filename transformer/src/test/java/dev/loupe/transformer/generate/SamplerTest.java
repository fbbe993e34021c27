package dev.loupe.transformer.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.tensor.Rng;
import org.junit.jupiter.api.Test;

/** Distributions held against hand-written definitions: softmax(l / T) with the filtered tokens left out. */
class SamplerTest {
    private static final double TOL = 1e-12;

    /** softmax of {@code logits / t} over the tokens {@code keep} marks, zero elsewhere. */
    private static double[] softmax(float[] logits, float t, boolean... keep) {
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            p[i] = keep.length == 0 || keep[i] ? Math.exp(logits[i] / (double) t) : 0;
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) p[i] /= sum;
        return p;
    }

    private static float[] logOf(double... probs) {
        float[] l = new float[probs.length];
        for (int i = 0; i < l.length; i++) l[i] = (float) Math.log(probs[i]);
        return l;
    }

    @Test
    void temperatureDividesTheLogits() {
        float[] logits = {1f, 2f, 3f, 0.5f};
        for (float t : new float[] {0.5f, 1f, 2f}) {
            assertArrayEquals(softmax(logits, t), new Sampler(t, 0, 1).probabilities(logits), TOL, "T=" + t);
        }
        // e.g. T = 0.5: e^{2l} normalized; hand value for the largest: e^6 / (e^2 + e^4 + e^6 + e^1)
        double top = Math.exp(6) / (Math.exp(2) + Math.exp(4) + Math.exp(6) + Math.exp(1));
        assertEquals(top, new Sampler(0.5f, 0, 1).probabilities(logits)[2], TOL);
    }

    @Test
    void topKKeepsTheKLargestAndEveryTieOfTheKth() {
        float[] logits = {1f, 3f, 2f, 3f, 0f};
        assertArrayEquals(new double[] {0, 0.5, 0, 0.5, 0}, new Sampler(1, 2, 1).probabilities(logits), TOL);
        assertArrayEquals(softmax(logits, 1, false, true, true, true, false),
                new Sampler(1, 3, 1).probabilities(logits), TOL);
        float[] tiedAtK = {1f, 3f, 2f, 2f, 0f}; // k = 2: the 3 and both 2s
        assertArrayEquals(softmax(tiedAtK, 1, false, true, true, true, false),
                new Sampler(1, 2, 1).probabilities(tiedAtK), TOL);
        assertArrayEquals(softmax(logits, 0.7f), new Sampler(0.7f, 5, 1).probabilities(logits), TOL, "k = vocab");
        assertArrayEquals(softmax(logits, 0.7f), new Sampler(0.7f, 50, 1).probabilities(logits), TOL, "k > vocab");
    }

    @Test
    void topPKeepsTheSmallestMostLikelySetReachingP() {
        float[] logits = logOf(0.5, 0.3, 0.15, 0.05);
        assertArrayEquals(new double[] {1, 0, 0, 0}, new Sampler(1, 0, 0.45f).probabilities(logits), 1e-7);
        assertArrayEquals(new double[] {0.625, 0.375, 0, 0}, new Sampler(1, 0, 0.7f).probabilities(logits), 1e-7);
        assertArrayEquals(new double[] {0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0},
                new Sampler(1, 0, 0.9f).probabilities(logits), 1e-7);
        assertArrayEquals(new double[] {0.5, 0.3, 0.15, 0.05}, new Sampler(1, 0, 1f).probabilities(logits), 1e-7);
    }

    @Test
    void topPKeepsTokensTiedWithTheLastOneItNeeds() {
        // 0.4, 0.2, 0.2, 0.2: p = 0.5 needs one of the 0.2s, so all three are kept (order of equal logits is no rule).
        float[] logits = {(float) Math.log(2), 0f, 0f, 0f};
        assertArrayEquals(new double[] {0.4, 0.2, 0.2, 0.2}, new Sampler(1, 0, 0.5f).probabilities(logits), 1e-7);
        // 0.375, 0.375, 0.125, 0.125: the tie is inside the nucleus, the tail is dropped.
        float[] inside = {(float) Math.log(3), (float) Math.log(3), 0f, 0f};
        assertArrayEquals(new double[] {0.5, 0.5, 0, 0}, new Sampler(1, 0, 0.5f).probabilities(inside), 1e-7);
    }

    @Test
    void topKThenTopPAsHuggingFaceOrdersThem() {
        // top-k 3 leaves 0.5, 0.3, 0.15 → renormalized 0.526, 0.316, 0.158; top-p 0.8 then needs the first two.
        float[] logits = logOf(0.5, 0.3, 0.15, 0.05);
        assertArrayEquals(new double[] {0.625, 0.375, 0, 0}, new Sampler(1, 3, 0.8f).probabilities(logits), 1e-7);
    }

    @Test
    void allEqualLogitsGiveTheUniformDistributionUnderEveryFilter() {
        float[] logits = {2f, 2f, 2f, 2f, 2f};
        double[] uniform = {0.2, 0.2, 0.2, 0.2, 0.2};
        assertArrayEquals(uniform, new Sampler(1, 0, 1).probabilities(logits), TOL);
        assertArrayEquals(uniform, new Sampler(0.3f, 2, 1).probabilities(logits), TOL);
        assertArrayEquals(uniform, new Sampler(1, 0, 0.3f).probabilities(logits), TOL);
        assertEquals(0, Sampler.greedy().next(logits, new Rng(1)));
    }

    @Test
    void greedyIsTheArgmaxWithTheLowestIdOnTiesAndDrawsNothing() {
        float[] logits = {Float.NEGATIVE_INFINITY, 1f, 4f, 4f, -2f};
        Rng rng = new Rng(9), untouched = new Rng(9);
        assertEquals(2, Sampler.greedy().next(logits, rng));
        assertEquals(untouched.nextLong(), rng.nextLong());
        assertArrayEquals(new double[] {0, 0, 1, 0, 0}, Sampler.greedy().probabilities(logits), 0);
    }

    @Test
    void drawsFollowTheDistribution() {
        float[] logits = logOf(0.5, 0.3, 0.15, 0.05);
        Sampler s = new Sampler(1, 0, 1);
        int n = 40_000;
        int[] counts = new int[4];
        Rng rng = new Rng(123);
        for (int i = 0; i < n; i++) counts[s.next(logits, rng)]++;
        double[] p = {0.5, 0.3, 0.15, 0.05};
        for (int i = 0; i < 4; i++) {
            double sd = Math.sqrt(n * p[i] * (1 - p[i]));
            assertEquals(n * p[i], counts[i], 5 * sd, "token " + i);
        }
        // A filtered token is never drawn.
        Sampler k1 = new Sampler(5f, 1, 1);
        for (int i = 0; i < 1000; i++) assertEquals(0, k1.next(logits, rng));
    }

    @Test
    void badSettingsAndLogitsAreRejectedWithTheValue() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Sampler(-1, 0, 1)).getMessage()
                .contains("-1"));
        assertThrows(IllegalArgumentException.class, () -> new Sampler(1, -2, 1));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Sampler(1, 0, 0)).getMessage()
                .contains("(0, 1]"));
        assertThrows(IllegalArgumentException.class, () -> new Sampler(1, 0, 1.5f));
        Sampler s = new Sampler(1, 0, 1);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> s.probabilities(new float[] {0, Float.NaN}))
                .getMessage().contains("logit 1 is NaN"));
        float[] none = {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY};
        assertThrows(IllegalArgumentException.class, () -> s.next(none, new Rng(1)));
    }
}
