package dev.loupe.interp.detect;

import dev.loupe.tensor.Autograd;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.hooks.ActivationCache;
import dev.loupe.transformer.hooks.HookNames;
import dev.loupe.transformer.hooks.Hooks;
import java.util.Arrays;
import java.util.function.Function;

/**
 * Scores every attention head by how closely its pattern on a batch of prompts follows a reference pattern: one
 * forward pass caching {@code hook_pattern}, a score per (prompt, layer, head), averaged over the prompts.
 *
 * <p>The built-in detectors ({@link #previousToken}, {@link #duplicateToken}, {@link #induction},
 * {@link #prefixMatching}) use {@link Measure#ROW_MEAN}: the attention a query puts on its targets, averaged over
 * the queries that have a target, which is 1 for a perfect head and about 1/pos for a uniform one. TransformerLens's
 * two measures are available for any pattern through {@link #score}.
 */
public final class HeadDetector {
    private HeadDetector() {
    }

    /** How a head's pattern A [q, k] is compared with a reference D [q, k] (both after the exclusions). */
    public enum Measure {
        /** Σ A·D / Σ A (TransformerLens's "mul"): the share of all attention that lands on targets. */
        MUL,
        /**
         * 1 − Σ |A − D| / pos (TransformerLens's "abs", without its rounding to 3 decimals): 1 when A equals D; may
         * be negative.
         */
        ABS,
        /** Mean over the query rows with at least one target of Σ_k A·D: the attention each such query puts there. */
        ROW_MEAN
    }

    /** Previous-token scores, [layer, head]. */
    public static Tensor previousToken(Gpt2Model model, TokenBatch prompts) {
        return score(model, prompts, DetectionPatterns::previousToken, Measure.ROW_MEAN, false, false);
    }

    /** Duplicate-token scores (attention to earlier copies of the current token), [layer, head]. */
    public static Tensor duplicateToken(Gpt2Model model, TokenBatch prompts) {
        return score(model, prompts, DetectionPatterns::duplicateToken, Measure.ROW_MEAN, false, false);
    }

    /**
     * Induction scores (attention to the token {@code offset} after an earlier copy of the current token; 1 is the
     * usual choice), [layer, head].
     */
    public static Tensor induction(Gpt2Model model, TokenBatch prompts, int offset) {
        return score(model, prompts, t -> DetectionPatterns.induction(t, offset), Measure.ROW_MEAN, false, false);
    }

    /**
     * Prefix-matching scores on prompts of BOS + r + r with |r| = {@code half}
     * ({@link DetectionPatterns#prefixMatching}), [layer, head].
     */
    public static Tensor prefixMatching(Gpt2Model model, TokenBatch prompts, int half) {
        if (prompts.length() != 1 + 2 * half) {
            throw new IllegalArgumentException("prompts of " + prompts.length() + " tokens are not BOS + 2 x "
                    + half);
        }
        Tensor d = DetectionPatterns.prefixMatching(half);
        return score(model, prompts, t -> d, Measure.ROW_MEAN, false, false);
    }

    /**
     * Scores every head against the pattern {@code reference} gives for each prompt's tokens.
     *
     * @param prompts        unpadded tokens [batch, pos]
     * @param reference      a prompt's token ids → reference pattern [pos, pos]
     * @param excludeBos     zero key column 0 in A and D before comparing (attention to BOS as a resting place)
     * @param excludeCurrent zero the diagonal in A and D before comparing
     * @return [layer, head] scores averaged over the prompts
     * @throws IllegalArgumentException for a padded batch or a reference of the wrong shape
     */
    public static Tensor score(Gpt2Model model, TokenBatch prompts, Function<int[], Tensor> reference, Measure measure,
                               boolean excludeBos, boolean excludeCurrent) {
        if (prompts.padded()) throw new IllegalArgumentException("head detection needs unpadded prompts");
        int layers = model.config().nLayers(), heads = model.config().nHeads();
        int b = prompts.batch(), n = prompts.length();
        double[][] refs = new double[b][];
        for (int r = 0; r < b; r++) {
            Tensor d = reference.apply(prompts.row(r));
            if (d.rank() != 2 || d.size(0) != n || d.size(1) != n) {
                throw new IllegalArgumentException("reference pattern for prompt " + r + " is "
                        + Arrays.toString(d.shape()) + ", expected [" + n + ", " + n + "]");
            }
            refs[r] = toDouble(d.toFloatArray());
        }
        ActivationCache cache;
        try (var off = Autograd.noGrad()) {
            cache = model.run(prompts, Hooks.builder().cache(".*hook_pattern").build()).cache();
        }
        float[] out = new float[layers * heads];
        for (int l = 0; l < layers; l++) {
            double[] pattern = toDouble(cache.get(HookNames.attn(l, "hook_pattern")).toFloatArray()); // [b, h, n, n]
            for (int h = 0; h < heads; h++) {
                double sum = 0;
                for (int r = 0; r < b; r++) {
                    double[] a = Arrays.copyOfRange(pattern, ((r * heads + h) * n) * n,
                            ((r * heads + h) * n + n) * n);
                    sum += compare(a, refs[r].clone(), n, measure, excludeBos, excludeCurrent);
                }
                out[l * heads + h] = (float) (sum / b);
            }
        }
        return Tensor.of(out, layers, heads);
    }

    /** One prompt's score for one head: a and d are [n, n] row-major (modified: the exclusions are applied). */
    static double compare(double[] a, double[] d, int n, Measure measure, boolean excludeBos, boolean excludeCurrent) {
        for (int i = 0; i < n; i++) {
            if (excludeBos) a[i * n] = d[i * n] = 0;
            if (excludeCurrent) a[i * n + i] = d[i * n + i] = 0;
        }
        switch (measure) {
            case MUL -> {
                double num = 0, den = 0;
                for (int k = 0; k < n * n; k++) {
                    num += a[k] * d[k];
                    den += a[k];
                }
                return den == 0 ? 0 : num / den;
            }
            case ABS -> {
                double diff = 0;
                for (int k = 0; k < n * n; k++) diff += Math.abs(a[k] - d[k]);
                return 1 - diff / n;
            }
            default -> {
                double total = 0;
                int rows = 0;
                for (int i = 0; i < n; i++) {
                    double mass = 0, targets = 0;
                    for (int j = 0; j < n; j++) {
                        mass += a[i * n + j] * d[i * n + j];
                        targets += d[i * n + j];
                    }
                    if (targets > 0) {
                        total += mass;
                        rows++;
                    }
                }
                return rows == 0 ? 0 : total / rows;
            }
        }
    }

    private static double[] toDouble(float[] x) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) y[i] = x[i];
        return y;
    }
}
