package dev.loupe.interp.demo;

import dev.loupe.interp.cache.CacheAnalysis;
import dev.loupe.interp.cache.LabeledStack;
import dev.loupe.interp.detect.DetectionPatterns;
import dev.loupe.interp.detect.HeadDetector;
import dev.loupe.tensor.Autograd;
import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.hooks.ActivationCache;
import dev.loupe.transformer.hooks.HookNames;
import dev.loupe.transformer.hooks.Hooks;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The experiments of {@code loupe demo} on the two demo models, as plain JSON-ready maps (lists of numbers, strings,
 * nested maps) whose keys name what a reader searches for ({@code induction_score}, {@code logit_diff_mean} ...).
 */
public final class DemoAnalysis {
    private static final int TOP_HEADS = 2;

    private DemoAnalysis() {
    }

    /**
     * Head detection and in-context learning on repeated random tokens (BOS + 20 random tokens + the same 20).
     * Keys: {@code prompt_tokens}, {@code induction_score}, {@code previous_token_score},
     * {@code duplicate_token_score} ([layer][head]), {@code top_induction_head}, {@code top_induction_score},
     * {@code loss_by_position}, {@code loss_first_half}, {@code loss_second_half}, {@code icl_drop},
     * {@code top_heads_attention}.
     */
    public static Map<String, Object> induction(Gpt2Model model) {
        int half = 20;
        TokenBatch prompts = TokenBatch.of(DetectionPatterns.repeatedRandomTokens(new Rng(2024), 32, half, 0, 1, 63));
        Tensor ind = HeadDetector.induction(model, prompts, 1);
        Map<String, Object> out = new LinkedHashMap<>();
        int[] first = prompts.row(0);
        List<String> labels = new ArrayList<>();
        for (int t : first) labels.add(t == 0 ? "BOS" : "t" + t);
        out.put("prompt_tokens", labels);
        out.put("induction_score", matrix(ind));
        out.put("previous_token_score", matrix(HeadDetector.previousToken(model, prompts)));
        out.put("duplicate_token_score", matrix(HeadDetector.duplicateToken(model, prompts)));
        int[] best = argmax(ind);
        out.put("top_induction_head", head(best[0], best[1]));
        out.put("top_induction_score", ind.get(best[0], best[1]));

        // Loss at each position (predicting the token at pos + 1), averaged over the prompts.
        double[] loss = new double[2 * half];
        try (var off = Autograd.noGrad()) {
            Tensor logp = model.forward(prompts).logSoftmax(-1);
            for (int r = 0; r < prompts.batch(); r++) {
                for (int p = 0; p < 2 * half; p++) loss[p] -= logp.get(r, p, prompts.token(r, p + 1)) / prompts.batch();
            }
        }
        double a = 0, b = 0;
        for (int p = 0; p < half; p++) a += loss[p] / half;          // predicting the first copy: unpredictable
        for (int p = half; p < 2 * half; p++) b += loss[p] / half;   // predicting the second copy
        out.put("loss_by_position", toList(loss));
        out.put("loss_first_half", a);
        out.put("loss_second_half", b);
        out.put("icl_drop", a - b);
        out.put("top_heads_attention", topPatterns(model, TokenBatch.of(first), ind));
        return out;
    }

    /**
     * IOI: the mean logit difference on held-out names and templates, then patching and direct logit attribution on
     * a batch of prompts from one held-out template, clean against S2-swapped corruptions ("..., Mary gave ..." for
     * "..., John gave ...", which turns the answer around). Keys: {@code logit_diff_mean}, {@code logit_diff_prompts},
     * {@code logit_diff_positive_fraction}, {@code clean_prompt}, {@code corrupted_prompt}, {@code patching_prompts}
     * (every pair: {@code clean}, {@code corrupted}, {@code io}, {@code s}), {@code prompt_tokens},
     * {@code clean_logit_diff}, {@code corrupted_logit_diff}, {@code resid_pre_patching} ([layer][pos]),
     * {@code head_output_patching}, {@code direct_logit_attribution} ([layer][head]), {@code attribution_patching}
     * ({@link #attributionPatching}; both from {@link AttributionCheck#compare}), {@code top_heads_attention} (with
     * {@code final_attention_to_io} and {@code final_attention_to_s}: the attention from the last position to the IO
     * name and to the subject's name).
     */
    public static Map<String, Object> ioi(DemoModels.IoiModel m) {
        Map<String, Object> out = new LinkedHashMap<>();
        List<IoiCorpus.Prompt> heldOut = IoiCorpus.heldOut(new Rng(7), 200);
        float[] diffs = DemoModels.ioiLogitDiffs(m, heldOut);
        double mean = 0, positive = 0;
        for (float d : diffs) {
            mean += d / diffs.length;
            if (d > 0) positive += 1.0 / diffs.length;
        }
        out.put("logit_diff_mean", mean);
        out.put("logit_diff_prompts", diffs.length);
        out.put("logit_diff_positive_fraction", positive);

        // One template, so every prompt has the same length; corrupted = S2 replaced by IO.
        IoiBatch batch = IoiBatch.of(m, 8, true, 11);
        List<Map<String, Object>> pairs = new ArrayList<>();
        for (IoiCorpus.Prompt p : batch.prompts()) {
            pairs.add(Map.of("clean", p.text(), "corrupted", p.s2Swapped(), "io", p.io(), "s", p.s()));
        }
        TokenBatch cleanBatch = batch.clean();
        int[] io = batch.io(), s = batch.s(), first = cleanBatch.row(0);
        Gpt2Model model = m.model();
        out.put("clean_prompt", pairs.get(0).get("clean"));
        out.put("corrupted_prompt", pairs.get(0).get("corrupted"));
        out.put("patching_prompts", pairs);
        List<String> toks = new ArrayList<>();
        for (int id : first) toks.add(id == 0 ? "BOS" : m.token(id));
        out.put("prompt_tokens", toks);
        // Activation patching by the incremental sweeps (the same values as ActivationPatching's
        // one-forward-per-patch reference, faster) beside attribution patching's estimates.
        AttributionCheck.Result r = AttributionCheck.compare(model, cleanBatch, batch.corrupted(), batch.metric(),
                false);
        out.put("clean_logit_diff", r.cleanMetric());
        out.put("corrupted_logit_diff", r.corruptedMetric());
        out.put("resid_pre_patching", matrix(r.residPatching()));
        out.put("head_output_patching", matrix(r.headPatching()));
        out.put("attribution_patching", attributionPatching(r));

        ActivationCache cleanCache;
        try (var off = Autograd.noGrad()) {
            cleanCache = model.run(cleanBatch, Hooks.cacheAll()).cache();
        }
        // Direct logit attribution of each head at the last position, through the final LayerNorm's cached scale.
        CacheAnalysis ca = new CacheAnalysis(model, cleanCache);
        int layers = model.config().nLayers(), heads = model.config().nHeads();
        LabeledStack st = ca.stackHeadResults(layers, true);
        Tensor attrs = ca.logitAttrs(st, io, s); // [component, batch, pos]
        Tensor dla = attrs.select(2, cleanBatch.length() - 1).mean(new int[] {1}, false).reshape(layers, heads);
        out.put("direct_logit_attribution", matrix(dla));
        List<Map<String, Object>> top = topPatterns(model, TokenBatch.of(first), dla);
        for (Map<String, Object> e : top) {
            // what the head reads at the final position: the IO name, or the subject's (both of its occurrences)
            @SuppressWarnings("unchecked")
            List<Double> last = ((List<List<Double>>) e.get("pattern")).get(first.length - 1);
            double toIo = 0, toS = 0;
            for (int k = 0; k < first.length; k++) {
                if (first[k] == io[0]) toIo += last.get(k);
                if (first[k] == s[0]) toS += last.get(k);
            }
            e.put("final_attention_to_io", toIo);
            e.put("final_attention_to_s", toS);
        }
        out.put("top_heads_attention", top);
        return out;
    }

    /**
     * Attribution patching of the same patches: the first-order estimates (clean − corrupted) ⊙ ∂metric/∂activation
     * on the corrupted run, two forward passes and one backward pass for all of them, beside the activation patching
     * they approximate. The estimates are metric changes, the patching results metric values; Pearson's r between
     * them does not depend on that shift (NaN where either is constant). Keys: {@code resid_pre} ([layer][pos]),
     * {@code head_output} ([layer][head]), {@code resid_pre_correlation}, {@code head_output_correlation}.
     */
    private static Map<String, Object> attributionPatching(AttributionCheck.Result r) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("resid_pre", matrix(r.residAttribution()));
        out.put("head_output", matrix(r.headAttribution()));
        out.put("resid_pre_correlation", r.residPre());
        out.put("head_output_correlation", r.headOutputs());
        return out;
    }

    /** The patterns [q][k] on {@code prompt} of the {@link #TOP_HEADS} heads with the highest {@code scores}. */
    private static List<Map<String, Object>> topPatterns(Gpt2Model model, TokenBatch prompt, Tensor scores) {
        ActivationCache cache;
        try (var off = Autograd.noGrad()) {
            cache = model.run(prompt, Hooks.builder().cache(".*hook_pattern").build()).cache();
        }
        float[] flat = scores.contiguous().toFloatArray();
        int heads = scores.size(1);
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < flat.length; i++) order.add(i);
        order.sort((x, y) -> Float.compare(flat[y], flat[x]));
        List<Map<String, Object>> out = new ArrayList<>();
        for (int k = 0; k < Math.min(TOP_HEADS, order.size()); k++) {
            int l = order.get(k) / heads, h = order.get(k) % heads;
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("head", head(l, h));
            e.put("score", flat[order.get(k)]);
            e.put("pattern", matrix(cache.get(HookNames.attn(l, "hook_pattern")).select(0, 0).select(0, h)));
            out.add(e);
        }
        return out;
    }

    private static String head(int l, int h) {
        return "L" + l + "H" + h;
    }

    private static int[] argmax(Tensor m) {
        int[] best = {0, 0};
        for (int i = 0; i < m.size(0); i++) {
            for (int j = 0; j < m.size(1); j++) if (m.get(i, j) > m.get(best[0], best[1])) best = new int[] {i, j};
        }
        return best;
    }

    /** A [r, c] tensor as a list of rows. */
    static List<List<Double>> matrix(Tensor t) {
        List<List<Double>> rows = new ArrayList<>();
        for (int i = 0; i < t.size(0); i++) {
            List<Double> row = new ArrayList<>();
            for (int j = 0; j < t.size(1); j++) row.add((double) t.get(i, j));
            rows.add(row);
        }
        return rows;
    }

    private static List<Double> toList(double[] x) {
        List<Double> l = new ArrayList<>();
        for (double v : x) l.add(v);
        return l;
    }
}
