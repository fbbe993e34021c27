package dev.loupe.transformer.hooks;

import dev.loupe.tensor.Tensor;
import java.util.Arrays;

/**
 * A forward hook: called with the activation at a hook point during one call, it returns that activation (to read
 * it) or a replacement of the same shape (to edit it). The returned tensor is what the rest of the forward pass sees.
 * Returning a tensor that depends on {@code activation} through recorded ops keeps gradients flowing through it.
 */
@FunctionalInterface
public interface ForwardHook {
    /**
     * @param activation the tensor at the point, shaped as the point's documentation states (see {@link HookNames})
     * @param name       the point's name, e.g. {@code blocks.3.attn.hook_z}
     * @return {@code activation} or a replacement of the same shape; never null
     */
    Tensor apply(Tensor activation, String name);

    /**
     * Replaces the activation with {@code value} (broadcast to its shape; e.g. a cached activation from another run).
     * Throws {@link IllegalStateException} naming the point when {@code value} does not broadcast to it.
     */
    static ForwardHook replaceWith(Tensor value) {
        return (act, name) -> fit("replaceWith", value, act, name).expand(act.shape());
    }

    /**
     * Adds {@code delta} (broadcast to the activation's shape): steering vectors, noise. Throws
     * {@link IllegalStateException} naming the point when {@code delta} does not broadcast to it.
     */
    static ForwardHook add(Tensor delta) {
        return (act, name) -> act.add(fit("add", delta, act, name));
    }

    /** Multiplies the activation by {@code alpha} (0 ablates, -1 flips). */
    static ForwardHook scale(float alpha) {
        return (act, name) -> act.mul(alpha);
    }

    /** {@code operand}, checked to broadcast to {@code act}'s shape without growing it (the error names the point). */
    private static Tensor fit(String helper, Tensor operand, Tensor act, String name) {
        int[] s = operand.shape(), to = act.shape();
        boolean ok = s.length <= to.length;
        for (int i = 1; ok && i <= s.length; i++) ok = s[s.length - i] == 1 || s[s.length - i] == to[to.length - i];
        if (!ok) {
            throw new IllegalStateException(helper + " at " + name + ": operand of shape " + Arrays.toString(s)
                    + " does not broadcast to the point's shape " + Arrays.toString(to));
        }
        return operand;
    }
}
