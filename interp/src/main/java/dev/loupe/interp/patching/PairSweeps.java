package dev.loupe.interp.patching;

import dev.loupe.interp.patching.ActivationPatching.HeadPoint;
import dev.loupe.interp.patching.ActivationPatching.Stream;
import dev.loupe.tensor.Autograd;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.hooks.ActivationCache;
import dev.loupe.transformer.hooks.Hooks;
import java.util.ArrayList;
import java.util.List;

/**
 * Patching sweeps over a dataset of {@link PromptPairs}: all pairs run as one batch through {@link IncrementalPatching},
 * each pair measured by its own logit difference, and the results reported per prompt and as the mean and spread.
 */
public final class PairSweeps {
    private PairSweeps() {
    }

    /** Which run receives the patches. */
    public enum Direction {
        /** Clean activations into the corrupted run. */
        DENOISE,
        /** Corrupted activations into the clean run. */
        NOISE
    }

    /**
     * A sweep's results.
     *
     * @param dims      the sweep's dims, e.g. [layer, pos]
     * @param perPrompt [pair, dims...] each pair's patched logit difference
     * @param mean      [dims...] the mean over pairs
     * @param std       [dims...] the population standard deviation over pairs
     * @param clean     [pair] each clean prompt's unpatched logit difference
     * @param corrupted [pair] each corrupted prompt's unpatched logit difference
     */
    public record Result(List<String> dims, Tensor perPrompt, Tensor mean, Tensor std, float[] clean,
                         float[] corrupted) {
        /**
         * Each pair's score normalised by its own clean and corrupted values, (v − corrupted) / (clean − corrupted),
         * [pair, dims...].
         */
        public Tensor normalizedPerPrompt() {
            int n = clean.length;
            int[] shape = new int[perPrompt.rank()];
            shape[0] = n;
            java.util.Arrays.fill(shape, 1, shape.length, 1);
            Tensor c = Tensor.of(clean.clone(), shape), k = Tensor.of(corrupted.clone(), shape);
            return perPrompt.sub(k).div(c.sub(k));
        }
    }

    /** A [layer, pos] sweep of {@code stream}. */
    public static Result streamByPosition(Gpt2Model model, PromptPairs pairs, Stream stream, Direction direction) {
        Runs r = runs(model, pairs, direction);
        return result(model, pairs, r, IncrementalPatching.plan(model, r.target, r.source, stream));
    }

    /** A [layer, head] sweep (all positions), or [layer, head, pos] when {@code byPosition}, of {@code point}. */
    public static Result heads(Gpt2Model model, PromptPairs pairs, HeadPoint point, boolean byPosition,
                               Direction direction) {
        Runs r = runs(model, pairs, direction);
        return result(model, pairs, r, IncrementalPatching.plan(model, r.target, r.source, point, byPosition));
    }

    private record Runs(TokenBatch target, ActivationCache source) {
    }

    private static Runs runs(Gpt2Model model, PromptPairs pairs, Direction direction) {
        boolean denoise = direction == Direction.DENOISE;
        TokenBatch source = denoise ? pairs.clean() : pairs.corrupted();
        try (var off = Autograd.noGrad()) {
            return new Runs(denoise ? pairs.corrupted() : pairs.clean(), model.run(source, Hooks.cacheAll()).cache());
        }
    }

    private static Result result(Gpt2Model model, PromptPairs pairs, Runs runs, IncrementalPatching.Plan plan) {
        int n = pairs.size(), cells = plan.patches().size();
        List<Metric> metrics = new ArrayList<>();
        for (int r = 0; r < n; r++) metrics.add(pairs.logitDiff(r));
        float[] values = IncrementalPatching.run(model, runs.target, plan, metrics); // [cell, pair]
        int[] shape = new int[plan.sizes().length + 1];
        shape[0] = n;
        System.arraycopy(plan.sizes(), 0, shape, 1, plan.sizes().length);
        float[] per = new float[n * cells], mean = new float[cells], std = new float[cells];
        for (int c = 0; c < cells; c++) {
            double sum = 0, sq = 0;
            for (int r = 0; r < n; r++) {
                float v = values[c * n + r];
                per[r * cells + c] = v;
                sum += v;
            }
            double mu = sum / n;
            for (int r = 0; r < n; r++) sq += (values[c * n + r] - mu) * (values[c * n + r] - mu);
            mean[c] = (float) mu;
            std[c] = (float) Math.sqrt(sq / n);
        }
        return new Result(plan.dims(), Tensor.of(per, shape), Tensor.of(mean, plan.sizes()),
                Tensor.of(std, plan.sizes()), baselines(model, pairs.clean(), metrics),
                baselines(model, pairs.corrupted(), metrics));
    }

    private static float[] baselines(Gpt2Model model, TokenBatch tokens, List<Metric> metrics) {
        try (var off = Autograd.noGrad()) {
            Tensor logits = model.forward(tokens);
            float[] v = new float[metrics.size()];
            for (int r = 0; r < v.length; r++) v[r] = metrics.get(r).apply(logits.narrow(0, r, 1)).item();
            return v;
        }
    }
}
