package dev.loupe.interp.patching;

import dev.loupe.interp.RandomGpt2;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.loupe.interp.ablation.Ablator;
import dev.loupe.interp.ablation.Target;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Config;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.gpt2.Gpt2Weights;
import dev.loupe.transformer.hooks.ActivationCache;
import dev.loupe.transformer.hooks.ForwardHook;
import dev.loupe.transformer.hooks.HookNames;
import dev.loupe.transformer.hooks.Hooks;
import org.junit.jupiter.api.Test;

/**
 * Attribution patching is a linearisation, so it is held to activation patching exactly where the model is affine in
 * the patched activation: an attention-only model with its attention patterns and LayerNorm scales held at the
 * target run's values, in the estimate (stopped gradients) and in the real patch (forward hooks) alike.
 */
class AttributionPatchingTest {
    private static final int LAYERS = 3, D = 16, HEADS = 4, VOCAB = 30;

    private static Gpt2Model model(boolean attnOnly) {
        Gpt2Config c = Gpt2Config.gpt2(LAYERS, D, HEADS, VOCAB, 12);
        if (attnOnly) c = c.attentionOnly();
        Gpt2Weights w = RandomGpt2.weights(c, 21, 0.3f);
        return new Gpt2Model(c, w);
    }

    private static final Gpt2Model ATTN_ONLY = model(true);
    private static final TokenBatch CLEAN = TokenBatch.of(new int[] {3, 11, 7, 19, 4, 25}, new int[] {8, 2, 6, 14, 1, 9});
    private static final TokenBatch CORRUPT = TokenBatch.of(new int[] {3, 11, 28, 19, 4, 25}, new int[] {8, 2, 6, 14, 22, 9});
    private static final Metric METRIC = Metrics.logitDiff(new int[] {5, 12}, new int[] {17, 3});
    private static final AttributionPatching.Options FROZEN = new AttributionPatching.Options(true, true, null);

    /** The real patch of {@code point} (mask from {@code target}), with patterns and LN scales held at the corrupted run's. */
    private static float patchedFrozen(Gpt2Model m, Target target, String point) {
        ActivationCache clean = m.run(CLEAN, Hooks.cacheAll()).cache();
        ActivationCache corrupt = m.run(CORRUPT, Hooks.cacheAll()).cache();
        Tensor src = clean.get(point);
        Hooks hooks = Hooks.builder()
                .forward(n -> n.endsWith("hook_pattern") || n.endsWith("hook_scale"),
                        (act, n) -> corrupt.get(n))
                .forward(point, (act, n) -> {
                    Tensor mask = Ablator.mask(target, act.shape());
                    return act.mul(mask.neg().add(1)).add(src.mul(mask));
                })
                .build();
        return METRIC.apply(m.run(CORRUPT, hooks).logits()).item();
    }

    @Test
    void estimatesAreExactWhereTheModelIsAffineInThePatch() {
        AttributionPatching.Result r = AttributionPatching.run(ATTN_ONLY, CORRUPT, CLEAN, METRIC, n -> true, FROZEN);
        float base = r.targetMetric();
        Tensor resid = AttributionPatching.stream(r, LAYERS, ActivationPatching.Stream.ATTN_OUT);
        assertArrayEquals(new int[] {LAYERS, 6}, resid.shape());
        for (int l = 0; l < LAYERS; l++) {
            for (int p : new int[] {2, 4, 5}) {
                String point = HookNames.attnOut(l);
                float actual = patchedFrozen(ATTN_ONLY, new Target.Stream(point, new int[] {p}), point) - base;
                assertEquals(actual, resid.get(l, p), 1e-4 * Math.max(1, Math.abs(actual)), "attn_out " + l + "," + p);
            }
        }
        Tensor heads = AttributionPatching.heads(r, LAYERS, ActivationPatching.HeadPoint.OUTPUT, false);
        for (int l = 0; l < LAYERS; l++) {
            for (int h = 0; h < HEADS; h++) {
                String point = HookNames.attn(l, "hook_z");
                float actual = patchedFrozen(ATTN_ONLY, new Target.HeadSlice(point, h, null), point) - base;
                assertEquals(actual, heads.get(l, h), 1e-4 * Math.max(1, Math.abs(actual)), "head " + l + "." + h);
            }
        }
    }

    @Test
    void positionsBeforeTheFirstDifferenceGetNothingAndHeadsSumTheirPositions() {
        AttributionPatching.Result r = AttributionPatching.run(model(false), CORRUPT, CLEAN, METRIC, n -> true,
                AttributionPatching.Options.none());
        Tensor resid = AttributionPatching.stream(r, LAYERS, ActivationPatching.Stream.RESID_PRE);
        for (int l = 0; l < LAYERS; l++) for (int p = 0; p < 2; p++) assertEquals(0f, resid.get(l, p), 1e-6); // rounding only
        Tensor perPos = AttributionPatching.heads(r, LAYERS, ActivationPatching.HeadPoint.VALUE, true);
        Tensor total = AttributionPatching.heads(r, LAYERS, ActivationPatching.HeadPoint.VALUE, false);
        assertEquals(total.get(2, 1), perPos.sum(2).get(2, 1), 1e-5);
        assertArrayEquals(new int[] {LAYERS, 4 * D}, AttributionPatching.neurons(r, LAYERS).shape());
        assertThrows(IllegalArgumentException.class, () -> AttributionPatching.run(ATTN_ONLY,
                TokenBatch.of(new int[] {1, 2}, new int[] {3, 4}), CLEAN, METRIC, n -> true, FROZEN));
    }

    @Test
    void attentionAttributionIsPatternTimesItsGradient() {
        Gpt2Model m = model(false);
        Tensor attr = AttributionPatching.attention(m, CLEAN, METRIC);             // [layer, batch, head, q, k]
        assertArrayEquals(new int[] {LAYERS, 2, HEADS, 6, 6}, attr.shape());
        // by hand: perturb one attention weight of layer 1 and take a central difference of the metric
        String point = HookNames.attn(1, "hook_pattern");
        Tensor pattern = m.run(CLEAN, Hooks.cacheAll()).cache().get(point);
        double eps = 1e-2;
        float[] plus = new float[2];
        for (int s = 0; s < 2; s++) {
            float delta = (float) (s == 0 ? eps : -eps);
            Tensor bump = Tensor.zeros(pattern.shape());
            bump.select(0, 1).select(0, 2).select(0, 4).select(0, 3).fill(delta);      // [b=1, h=2, q=4, k=3]
            plus[s] = METRIC.apply(m.run(CLEAN, Hooks.builder().forward(point, ForwardHook.add(bump)).build())
                    .logits()).item();
        }
        double grad = (plus[0] - plus[1]) / (2 * eps);
        assertEquals(pattern.get(1, 2, 4, 3) * grad, attr.get(1, 1, 2, 4, 3), 1e-3 * Math.max(1, Math.abs(grad)));
    }
}
