package dev.loupe.transformer.generate;

import dev.loupe.tensor.Rng;
import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * Picks the next token from one row of logits [d_vocab], as Hugging Face's warpers do, in this order: divide by
 * {@code temperature}; keep the {@code topK} largest logits; softmax; keep the nucleus of probability {@code topP};
 * renormalize; draw. Computed in double precision.
 *
 * <p>Ties never depend on token order: top-k keeps every token whose logit equals the k-th largest (so it may keep
 * more than k), and top-p keeps every token whose probability equals that of the last token the nucleus needs.
 *
 * @param temperature 0 for greedy decoding (the argmax, lowest id on ties; top-k and top-p then do nothing), else a
 *                    positive divisor of the logits
 * @param topK        keep only the k most likely tokens; 0 keeps all
 * @param topP        keep the smallest set of most likely tokens whose probability reaches {@code topP}, in (0, 1];
 *                    1 keeps all
 */
public record Sampler(float temperature, int topK, float topP) {
    public Sampler {
        if (!(temperature >= 0) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be 0 (greedy) or positive and finite, got "
                    + temperature);
        }
        if (topK < 0) throw new IllegalArgumentException("topK must be >= 0 (0 = off), got " + topK);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("topP must be in (0, 1], got " + topP);
    }

    /** Greedy decoding. */
    public static Sampler greedy() {
        return new Sampler(0, 0, 1);
    }

    public boolean isGreedy() {
        return temperature == 0;
    }

    /**
     * The distribution the next token is drawn from: probabilities [d_vocab] summing to 1, zero for every token the
     * filters removed; one-hot at the argmax when greedy.
     *
     * @param logits [d_vocab]; -∞ marks a forbidden token
     * @throws IllegalArgumentException for NaN or +∞ logits, or when every logit is -∞
     */
    public double[] probabilities(float[] logits) {
        int n = check(logits);
        double[] p = new double[n];
        if (isGreedy()) {
            p[argmax(logits)] = 1;
            return p;
        }
        double[] z = new double[n];
        for (int i = 0; i < n; i++) z[i] = logits[i] / (double) temperature;
        if (topK > 0 && topK < n) {
            double[] sorted = z.clone();
            Arrays.sort(sorted);
            double kth = sorted[n - topK];
            for (int i = 0; i < n; i++) if (z[i] < kth) z[i] = Double.NEGATIVE_INFINITY;
        }
        double max = Double.NEGATIVE_INFINITY;
        for (double v : z) max = Math.max(max, v);
        double sum = 0;
        for (int i = 0; i < n; i++) {
            p[i] = z[i] == Double.NEGATIVE_INFINITY ? 0 : Math.exp(z[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < n; i++) p[i] /= sum;
        if (topP < 1) nucleus(p);
        return p;
    }

    /** Zeroes every token outside the top-p nucleus (ties with its last member kept) and renormalizes. */
    private void nucleus(double[] p) {
        Integer[] order = IntStream.range(0, p.length).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.comparingDouble((Integer i) -> -p[i]).thenComparingInt(i -> i));
        double before = 0, boundary = 0;
        int kept = 0;
        while (kept < order.length && before < topP) { // a token is in the nucleus while the mass before it is short
            boundary = p[order[kept]];
            before += boundary;
            kept++;
        }
        while (kept < order.length && p[order[kept]] == boundary) kept++;
        double sum = 0;
        for (int j = 0; j < order.length; j++) {
            if (j >= kept) p[order[j]] = 0;
            sum += p[order[j]];
        }
        for (int i = 0; i < p.length; i++) p[i] /= sum;
    }

    /**
     * The next token: the argmax when greedy (no random number drawn), else a draw from {@link #probabilities}
     * using one {@code rng.nextDouble()}.
     *
     * @param logits [d_vocab]
     */
    public int next(float[] logits, Rng rng) {
        if (isGreedy()) return argmax(logits);
        double[] p = probabilities(logits);
        double u = rng.nextDouble(), acc = 0;
        int last = -1;
        for (int i = 0; i < p.length; i++) {
            if (p[i] == 0) continue;
            acc += p[i];
            last = i;
            if (u < acc) return i;
        }
        return last; // u within rounding of 1
    }

    /** Index of the largest logit, the lowest index on ties. */
    private static int argmax(float[] logits) {
        check(logits);
        int best = 0;
        for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }

    private static int check(float[] logits) {
        if (logits.length == 0) throw new IllegalArgumentException("no logits to sample from");
        boolean any = false;
        for (int i = 0; i < logits.length; i++) {
            float v = logits[i];
            if (Float.isNaN(v) || v == Float.POSITIVE_INFINITY) {
                throw new IllegalArgumentException("logit " + i + " is " + v);
            }
            any |= v != Float.NEGATIVE_INFINITY;
        }
        if (!any) throw new IllegalArgumentException("every logit is -Infinity: no token can be sampled");
        return logits.length;
    }
}
