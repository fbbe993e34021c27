package dev.loupe.interp.patching;

import dev.loupe.interp.ablation.Ablator;
import dev.loupe.interp.ablation.Target;
import dev.loupe.interp.patching.ActivationPatching.HeadPoint;
import dev.loupe.interp.patching.ActivationPatching.Stream;
import dev.loupe.tensor.Autograd;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.bert.BertInput;
import dev.loupe.transformer.bert.BertModel;
import dev.loupe.transformer.hooks.ActivationCache;
import dev.loupe.transformer.hooks.HookNames;
import dev.loupe.transformer.hooks.Hooks;

/**
 * Activation patching of sentence encoders ({@link BertModel}): one forward pass per patch, each measured by a
 * function of the sentence embedding (e.g. {@link EncoderMetrics#cosineDistance} to the clean run's). Encoders attend
 * in both directions, so a patch at one position can change every position, and the incremental method of
 * {@link IncrementalPatching} does not apply. Target and source inputs must have the same shape (and the same
 * padding, so that positions line up).
 */
public final class EncoderPatching {
    private EncoderPatching() {
    }

    /** A scalar summary of an encoder run. */
    @FunctionalInterface
    public interface Metric {
        /**
         * @param embedding [batch, d_model] the model's sentence embedding
         * @return a scalar tensor (shape [])
         */
        Tensor apply(Tensor embedding);
    }

    /**
     * Patches {@code stream} at each (layer, position) in turn. BERT is post-LayerNorm: {@code hook_resid_post} is
     * before the block's {@code ln2}.
     *
     * @return [layer, pos] metric values
     */
    public static Tensor streamByPosition(BertModel model, BertInput target, ActivationCache source, Stream stream,
                                          Metric metric) {
        int layers = model.config().nLayers(), len = target.length();
        float[] out = new float[layers * len];
        for (int l = 0; l < layers; l++) {
            String point = HookNames.block(l, stream.point);
            Tensor src = sourceAt(source, point, target);
            for (int p = 0; p < len; p++) {
                int pos = p;
                Target t = new Target.Stream(point, new int[] {pos});
                out[l * len + p] = measure(model, target, metric, point, act -> write(act, src, t));
            }
        }
        return Tensor.of(out, layers, len);
    }

    /**
     * Patches one head's {@code point} at every position, for each (layer, head).
     *
     * @return [layer, head] metric values
     */
    public static Tensor heads(BertModel model, BertInput target, ActivationCache source, HeadPoint point,
                               Metric metric) {
        int layers = model.config().nLayers(), heads = model.config().nHeads();
        boolean pattern = point == HeadPoint.PATTERN;
        float[] out = new float[layers * heads];
        for (int l = 0; l < layers; l++) {
            String name = HookNames.attn(l, point.point);
            Tensor src = sourceAt(source, name, target);
            for (int h = 0; h < heads; h++) {
                int head = h;
                Target t = pattern ? new Target.Pattern(l, head, null) : new Target.HeadSlice(name, head, null);
                out[l * heads + h] = measure(model, target, metric, name, act -> write(act, src, t));
            }
        }
        return Tensor.of(out, layers, heads);
    }

    /** The metric of {@code target} run with no patch. */
    public static float baseline(BertModel model, BertInput target, Metric metric) {
        try (var off = Autograd.noGrad()) {
            return metric.apply(model.embed(target)).item();
        }
    }

    /** {@code act} with {@code src}'s values on {@code t}'s slice, as {@link Ablator} writes explicit values. */
    private static Tensor write(Tensor act, Tensor src, Target t) {
        Tensor mask = Ablator.mask(t, act.shape());
        return act.mul(mask.neg().add(1)).add(src.mul(mask));
    }

    private static float measure(BertModel model, BertInput target, Metric metric, String point,
                                 java.util.function.UnaryOperator<Tensor> edit) {
        try (var off = Autograd.noGrad()) {
            Hooks hooks = Hooks.builder().forward(point, (act, name) -> edit.apply(act)).build();
            return metric.apply(model.run(target, hooks).embedding()).item();
        }
    }

    private static Tensor sourceAt(ActivationCache source, String point, BertInput target) {
        return ActivationPatching.sourceAt(source, point, target.batch(), target.length());
    }
}
