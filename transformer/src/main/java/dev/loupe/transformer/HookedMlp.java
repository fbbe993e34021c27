package dev.loupe.transformer;

import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.hooks.HookNames;
import dev.loupe.transformer.hooks.HookRun;

/**
 * The MLP GPT-2, GPT-Neo and BERT share, from the normalized residual to the block's MLP output, with its hook points
 * {@code mlp.hook_pre}, {@code mlp.hook_post} and {@code hook_mlp_out}. Shapes: b = batch, p = positions,
 * m = d_model, f = d_mlp.
 */
public final class HookedMlp {
    private HookedMlp() {
    }

    /**
     * @param run        the call's hook run
     * @param layer      the block's index, for hook names
     * @param x          the normalized residual [b, p, m]
     * @param activation the MLP's activation
     * @param wIn        W_in [m, f]
     * @param bIn        b_in [f], or null
     * @param wOut       W_out [f, m]
     * @param bOut       b_out [m], or null
     * @return the MLP output [b, p, m], through {@code hook_mlp_out}
     */
    public static Tensor apply(HookRun run, int layer, Tensor x, Activation activation, Tensor wIn, Tensor bIn,
                               Tensor wOut, Tensor bOut) {
        String preName = HookNames.mlp(layer, "hook_pre");
        Tensor post;
        if (run.materializes(preName)) {
            post = activation.apply(run.point(preName, x.linear(wIn, bIn)));
        } else {
            // Nobody sees hook_pre: the activation runs inside the product (the same values, one pass fewer).
            post = activation.linear(x, wIn, bIn);
        }
        post = run.point(HookNames.mlp(layer, "hook_post"), post);
        return run.point(HookNames.mlpOut(layer), post.linear(wOut, bOut));
    }
}
