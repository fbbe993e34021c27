package dev.loupe.interp.patching;

import dev.loupe.interp.patching.ActivationPatching.HeadPoint;
import dev.loupe.interp.patching.ActivationPatching.Stream;
import dev.loupe.tensor.Autograd;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.bert.BertInput;
import dev.loupe.transformer.bert.BertModel;
import dev.loupe.transformer.hooks.ActivationCache;
import dev.loupe.transformer.hooks.HookNames;
import dev.loupe.transformer.hooks.Hooks;
import java.util.Arrays;

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
                out[l * len + p] = measure(model, target, metric, point, act -> write(act, src, -1, 0, pos));
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
                out[l * heads + h] = measure(model, target, metric, name,
                        act -> write(act, src, head, pattern ? 1 : 2, -1));
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

    /**
     * {@code act} with {@code src}'s values at head {@code head} (along {@code headAxis}; -1: every head) and position
     * {@code pos} (along dim 1; -1: every position).
     */
    private static Tensor write(Tensor act, Tensor src, int head, int headAxis, int pos) {
        Tensor copy = Tensor.zeros(act.shape());
        copy.copyFrom(act);
        Tensor dst = copy, from = src;
        if (head >= 0) {
            dst = dst.narrow(headAxis, head, 1);
            from = from.narrow(headAxis, head, 1);
        }
        if (pos >= 0) {
            dst = dst.narrow(1, pos, 1);
            from = from.narrow(1, pos, 1);
        }
        dst.copyFrom(from);
        return copy;
    }

    private static float measure(BertModel model, BertInput target, Metric metric, String point,
                                 java.util.function.UnaryOperator<Tensor> edit) {
        try (var off = Autograd.noGrad()) {
            Hooks hooks = Hooks.builder().forward(point, (act, name) -> edit.apply(act)).build();
            return metric.apply(model.run(target, hooks).embedding()).item();
        }
    }

    private static Tensor sourceAt(ActivationCache source, String point, BertInput target) {
        Tensor src = source.get(point);
        int posAxis = point.endsWith("hook_pattern") ? 2 : 1;
        if (src.size(0) != target.batch() || src.size(posAxis) != target.length()) {
            throw new IllegalArgumentException("source activation " + point + " has shape "
                    + Arrays.toString(src.shape()) + " but the target batch is [" + target.batch() + ", "
                    + target.length() + "]: source and target inputs must have the same shape");
        }
        return src;
    }
}
