package dev.loupe.interp.patching;

import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.hooks.ActivationCache;
import dev.loupe.transformer.hooks.BackwardHook;
import dev.loupe.transformer.hooks.HookNames;
import dev.loupe.transformer.hooks.Hooks;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Attribution patching (Nanda 2023; Syed et al. 2023): the first-order estimate of every activation patch at once.
 * For each hook point, (source − target) ⊙ ∂metric/∂activation, the gradient taken on the target run: two forward
 * passes and one backward pass for every patch. Denoising estimates put clean activations into the corrupted run
 * (target = corrupted); noising swaps the roles.
 *
 * <p>The estimate is exact where the metric is affine in the patched activation; {@link Options} makes it so along
 * attention patterns and LayerNorm scales by stopping their gradients (the run's values are then held fixed, as
 * constants of the linearisation).
 */
public final class AttributionPatching {
    private AttributionPatching() {
    }

    /**
     * Which parts of the gradient graph to cut.
     *
     * @param freezePatterns stop gradients at every {@code attn.hook_pattern}
     * @param freezeLnScales stop gradients at every LayerNorm {@code hook_scale}
     * @param stopAt         also stop gradients at the points this accepts (null: none)
     */
    public record Options(boolean freezePatterns, boolean freezeLnScales, Predicate<String> stopAt) {
        public static Options none() {
            return new Options(false, false, null);
        }
    }

    /** Per-point attributions, each shaped like its activation, with the metric values of both runs. */
    public record Result(Map<String, Tensor> attributions, float targetMetric, float sourceMetric) {
        /** The attribution at {@code point}, shaped like its activation. */
        public Tensor at(String point) {
            Tensor t = attributions.get(point);
            if (t == null) throw new IllegalArgumentException("no attribution for '" + point + "'");
            return t;
        }
    }

    /**
     * Attributions at every point {@code points} accepts (optional points such as {@code attn.hook_result} are
     * computed when accepted).
     *
     * @param target the run patched into (corrupted tokens when denoising), [batch, pos]
     * @param source the run patches come from (clean when denoising), the same shape
     */
    public static Result run(Gpt2Model model, TokenBatch target, TokenBatch source, Metric metric,
                             Predicate<String> points, Options options) {
        if (target.batch() != source.batch() || target.length() != source.length()) {
            throw new IllegalArgumentException("target " + target + " and source " + source + " must have the same "
                    + "batch size and length");
        }
        Gpt2Model.Output src = model.run(source, Hooks.builder().cache(points).build());
        Gpt2Model.Output tgt = model.run(target, cutGradients(Hooks.builder().cache(points).cacheGradients(), options)
                .build());
        Tensor m = metric.apply(tgt.logits());
        float targetMetric = m.item();
        m.backward();
        ActivationCache tc = tgt.cache(), sc = src.cache();
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (String name : tc.names()) {
            Tensor diff = sc.get(name).sub(tc.get(name));
            out.put(name, tc.hasGrad(name) ? diff.mul(tc.grad(name)) : Tensor.zeros(diff.shape()));
        }
        float sourceMetric = metric.apply(src.logits()).item();
        return new Result(out, targetMetric, sourceMetric);
    }

    /** Adds the backward hooks that stop gradients where {@code options} asks; returns {@code b}. */
    static Hooks.Builder cutGradients(Hooks.Builder b, Options options) {
        if (options.freezePatterns()) b.backward(n -> n.endsWith("attn.hook_pattern"), BackwardHook.stop());
        if (options.freezeLnScales()) b.backward(n -> n.endsWith("hook_scale"), BackwardHook.stop());
        if (options.stopAt() != null) b.backward(options.stopAt(), BackwardHook.stop());
        return b;
    }

    /**
     * Estimated metric change of patching {@code stream} at each (layer, position): the attribution summed over
     * batch rows and d_model.
     *
     * @return [layer, pos]
     */
    public static Tensor stream(Result r, int layers, ActivationPatching.Stream stream) {
        Tensor[] rows = new Tensor[layers];
        for (int l = 0; l < layers; l++) rows[l] = r.at(HookNames.block(l, stream.point)).sum(new int[] {0, 2}, false);
        return Tensor.stack(0, rows);
    }

    /**
     * Estimated metric change of patching one head's {@code point} (output z, q, k, v: summed over d_head; pattern:
     * summed over key positions), per (layer, head), at every position or per position.
     *
     * @return [layer, head] or, with {@code perPosition}, [layer, head, pos]
     */
    public static Tensor heads(Result r, int layers, ActivationPatching.HeadPoint point, boolean perPosition) {
        Tensor[] rows = new Tensor[layers];
        for (int l = 0; l < layers; l++) {
            Tensor a = r.at(HookNames.attn(l, point.point));
            // z, q, k, v: [b, p, h, d] → [h, p]; pattern: [b, h, q, k] → [h, q]
            Tensor perHeadPos = point == ActivationPatching.HeadPoint.PATTERN
                    ? a.sum(new int[] {0, 3}, false) : a.sum(new int[] {0, 3}, false).transpose(0, 1);
            rows[l] = perPosition ? perHeadPos : perHeadPos.sum(1);
        }
        return Tensor.stack(0, rows);
    }

    /**
     * Attention attribution: pattern ⊙ ∂metric/∂pattern on one run, for every layer — how much each query → key
     * attention weight contributes to the metric, to first order.
     *
     * @param batch tokens [batch, pos]
     * @return [layer, batch, head, query_pos, key_pos]
     */
    public static Tensor attention(Gpt2Model model, TokenBatch batch, Metric metric) {
        Gpt2Model.Output out = model.run(batch, Hooks.builder().cache(n -> n.endsWith("attn.hook_pattern"))
                .cacheGradients().build());
        metric.apply(out.logits()).backward();
        int layers = model.config().nLayers();
        Tensor[] rows = new Tensor[layers];
        for (int l = 0; l < layers; l++) {
            String name = HookNames.attn(l, "hook_pattern");
            rows[l] = out.cache().get(name).mul(out.cache().grad(name));
        }
        return Tensor.stack(0, rows);
    }

    /**
     * Estimated metric change of patching each MLP neuron (at every position).
     *
     * @return [layer, d_mlp]
     */
    public static Tensor neurons(Result r, int layers) {
        Tensor[] rows = new Tensor[layers];
        for (int l = 0; l < layers; l++) rows[l] = r.at(HookNames.mlp(l, "hook_post")).sum(new int[] {0, 1}, false);
        return Tensor.stack(0, rows);
    }
}
