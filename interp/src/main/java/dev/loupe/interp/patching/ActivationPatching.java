package dev.loupe.interp.patching;

import dev.loupe.interp.ablation.Ablation;
import dev.loupe.interp.ablation.Ablator;
import dev.loupe.interp.ablation.Target;
import dev.loupe.tensor.Autograd;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.hooks.ActivationCache;
import dev.loupe.transformer.hooks.HookNames;
import java.util.Arrays;
import java.util.List;

/**
 * Activation patching: run {@code target} tokens with one component's activation taken from a {@code source} run,
 * and measure. Denoising puts clean activations into the corrupted run (target = corrupted tokens, source = the clean
 * run's cache); noising puts corrupted activations into the clean run. Each sweep patches one component at a time.
 *
 * <p>This is the direct method, one forward pass per patch: the reference that faster sweeps are checked against.
 * The source cache must hold the patched points for a batch of the same shape as {@code target} (e.g.
 * {@code Hooks.cacheAll()}).
 */
public final class ActivationPatching {
    private ActivationPatching() {
    }

    /** Residual-stream-shaped points, patched by layer and position. */
    public enum Stream {
        RESID_PRE("hook_resid_pre"), RESID_MID("hook_resid_mid"), RESID_POST("hook_resid_post"),
        ATTN_OUT("hook_attn_out"), MLP_OUT("hook_mlp_out");

        final String point;

        Stream(String point) {
            this.point = point;
        }
    }

    /** Per-head points, patched by layer and head (and optionally position). */
    public enum HeadPoint {
        OUTPUT("hook_z"), QUERY("hook_q"), KEY("hook_k"), VALUE("hook_v"), PATTERN("hook_pattern");

        final String point;

        HeadPoint(String point) {
            this.point = point;
        }
    }

    /**
     * Patches {@code stream} at each (layer, position) in turn.
     *
     * @return [layer, pos] metric values
     */
    public static Tensor streamByPosition(Gpt2Model model, TokenBatch target, ActivationCache source, Stream stream,
                                          Metric metric) {
        int layers = model.config().nLayers(), len = target.length();
        float[] out = new float[layers * len];
        for (int l = 0; l < layers; l++) {
            String point = HookNames.block(l, stream.point);
            Tensor src = sourceAt(source, point, target);
            for (int p = 0; p < len; p++) {
                out[l * len + p] = measure(model, target, metric,
                        Ablation.values(new Target.Stream(point, new int[] {p}), src));
            }
        }
        return Tensor.of(out, layers, len);
    }

    /**
     * Patches one head's {@code point} at every position, for each (layer, head).
     *
     * @return [layer, head] metric values
     */
    public static Tensor heads(Gpt2Model model, TokenBatch target, ActivationCache source, HeadPoint point,
                               Metric metric) {
        int layers = model.config().nLayers(), heads = model.config().nHeads();
        float[] out = new float[layers * heads];
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < heads; h++) {
                out[l * heads + h] = measure(model, target, metric, spec(l, h, null, point, source, target));
            }
        }
        return Tensor.of(out, layers, heads);
    }

    /**
     * Patches one head's {@code point} at one position (a query position for patterns), for each
     * (layer, head, position).
     *
     * @return [layer, head, pos] metric values
     */
    public static Tensor headsByPosition(Gpt2Model model, TokenBatch target, ActivationCache source, HeadPoint point,
                                         Metric metric) {
        int layers = model.config().nLayers(), heads = model.config().nHeads(), len = target.length();
        float[] out = new float[layers * heads * len];
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < heads; h++) {
                for (int p = 0; p < len; p++) {
                    out[(l * heads + h) * len + p] = measure(model, target, metric,
                            spec(l, h, new int[] {p}, point, source, target));
                }
            }
        }
        return Tensor.of(out, layers, heads, len);
    }

    /** The metric of {@code target} run with no patch: the baseline a sweep's values are compared to. */
    public static float baseline(Gpt2Model model, TokenBatch target, Metric metric) {
        try (var off = Autograd.noGrad()) {
            return metric.apply(model.forward(target)).item();
        }
    }

    private static Ablation.Spec spec(int l, int h, int[] positions, HeadPoint point, ActivationCache source,
                                      TokenBatch target) {
        String name = HookNames.attn(l, point.point);
        Tensor src = sourceAt(source, name, target);
        Target t = point == HeadPoint.PATTERN ? new Target.Pattern(l, h, positions)
                : new Target.HeadSlice(name, h, positions);
        return Ablation.values(t, src);
    }

    private static float measure(Gpt2Model model, TokenBatch target, Metric metric, Ablation.Spec spec) {
        try (var off = Autograd.noGrad()) {
            return metric.apply(Ablator.run(model, target, List.of(spec)).logits()).item();
        }
    }

    static Tensor sourceAt(ActivationCache source, String point, TokenBatch target) {
        return sourceAt(source, point, target.batch(), target.length());
    }

    /**
     * The source run's activation at {@code point}, checked to match a target of {@code batch} rows and
     * {@code length} positions (patterns: [batch, head, pos, pos]; other points: [batch, pos, ...]).
     */
    static Tensor sourceAt(ActivationCache source, String point, int batch, int length) {
        Tensor src = source.get(point);
        int posAxis = point.endsWith("hook_pattern") ? 2 : 1;
        if (src.size(0) != batch || src.size(posAxis) != length) {
            throw new IllegalArgumentException("source activation " + point + " has shape "
                    + Arrays.toString(src.shape()) + " but the target is " + batch + " x " + length + " tokens: "
                    + "source and target prompts must have the same batch size and length");
        }
        return src;
    }
}
