package dev.loupe.transformer;

import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.hooks.HookNames;
import dev.loupe.transformer.hooks.HookRun;

/**
 * The attention core GPT-2, GPT-Neo and BERT share, from hooked queries, keys and values to the layer's output, with
 * its hook points {@code attn.hook_attn_scores}, {@code hook_pattern}, {@code hook_z} and the optional
 * {@code hook_result}. Shapes: b = batch, p = query positions, k = key positions, h = heads, d = d_head,
 * m = d_model.
 */
public final class HookedAttention {
    private HookedAttention() {
    }

    /**
     * @param run        the call's hook run
     * @param layer      the block's index, for hook names
     * @param q          [b, p, h, d], already through {@code hook_q}
     * @param k          [b, k, h, d], already through {@code hook_k} (cached keys joined)
     * @param v          [b, k, h, d], already through {@code hook_v}
     * @param scale      multiplies the scores (1/√d, or 1 for none)
     * @param mask       additive mask [1 or b, 1, p, k] (0 or -inf), or null
     * @param queryValid [b, 1, p, 1] (1 for real queries, 0 for padding, whose pattern rows become 0), or null
     * @param wOHeads    W_O per head [h, d, m] (for {@code hook_result})
     * @param wO         W_O [h·d, m]
     * @param bO         b_O [m]
     * @return the attention output [b, p, m], b_O included
     */
    public static Tensor apply(HookRun run, int layer, Tensor q, Tensor k, Tensor v, float scale, Tensor mask,
                               Tensor queryValid, Tensor wOHeads, Tensor wO, Tensor bO) {
        int b = q.size(0), p = q.size(1);
        String scoresName = HookNames.attn(layer, "hook_attn_scores");
        String patternName = HookNames.attn(layer, "hook_pattern");
        if (!run.materializes(scoresName) && !run.materializes(patternName)) {
            // Nobody looks at the scores or the pattern: one fused op (differentiable, so also when training or taking
            // gradients at other points), the same forward numbers without either tensor. Zeroing a padding query's
            // pattern row zeroes its row of z: (pattern ∘ valid)·v = valid ∘ (pattern·v).
            Tensor z = Tensor.attention(q, k, v, scale, mask);
            if (queryValid != null) z = z.mul(queryValid.permute(0, 2, 1, 3)); // [b, p, 1, 1]
            z = run.point(HookNames.attn(layer, "hook_z"), z);
            return output(run, layer, z, b, p, wOHeads, wO, bO);
        }
        Tensor scores = q.permute(0, 2, 1, 3).matmul(k.permute(0, 2, 3, 1)); // [b, h, p, k]
        if (scale != 1f) scores = scores.mul(scale);
        if (mask != null) scores = scores.add(mask);
        scores = run.point(scoresName, scores);
        Tensor pattern = scores.softmax(-1);
        if (queryValid != null) pattern = pattern.mul(queryValid);
        pattern = run.point(patternName, pattern);
        Tensor z = pattern.matmul(v.permute(0, 2, 1, 3)).permute(0, 2, 1, 3); // [b, p, h, d]
        z = run.point(HookNames.attn(layer, "hook_z"), z);
        return output(run, layer, z, b, p, wOHeads, wO, bO);
    }

    /** z [b, p, h, d] → the attention output [b, p, m] (b_O included), through the optional {@code hook_result}. */
    private static Tensor output(HookRun run, int layer, Tensor z, int b, int p, Tensor wOHeads, Tensor wO,
                                 Tensor bO) {
        String resultName = HookNames.attn(layer, "hook_result");
        if (run.wants(resultName)) {
            Tensor result = run.point(resultName, Tensor.einsum("bphd,hdm->bphm", z, wOHeads)); // [b, p, h, m]
            return result.sum(2).add(bO);
        }
        return z.reshape(b, p, wO.size(0)).linear(wO, bO);
    }
}
