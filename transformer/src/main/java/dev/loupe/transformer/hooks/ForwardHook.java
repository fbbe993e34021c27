package dev.loupe.transformer.hooks;

import dev.loupe.tensor.Tensor;

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

    /** Replaces the activation with {@code value} (broadcast to its shape; e.g. a cached activation from another run). */
    static ForwardHook replaceWith(Tensor value) {
        return (act, name) -> value.expand(act.shape());
    }

    /** Adds {@code delta} (broadcast to the activation's shape): steering vectors, noise. */
    static ForwardHook add(Tensor delta) {
        return (act, name) -> act.add(delta);
    }

    /** Multiplies the activation by {@code alpha} (0 ablates, -1 flips). */
    static ForwardHook scale(float alpha) {
        return (act, name) -> act.mul(alpha);
    }
}
