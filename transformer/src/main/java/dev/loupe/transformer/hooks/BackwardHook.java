package dev.loupe.transformer.hooks;

import dev.loupe.tensor.Tensor;

/**
 * A backward hook: called during a backward pass with the gradient of the scalar being differentiated with respect to
 * the activation at a hook point (summed over every use of that activation). It may return a replacement of the same
 * shape, which is what flows on to earlier points, or null to leave the gradient unchanged.
 */
@FunctionalInterface
public interface BackwardHook {
    /**
     * @param gradient shaped like the point's activation
     * @param name     the point's name
     * @return a replacement gradient of the same shape, or null to keep {@code gradient}
     */
    Tensor apply(Tensor gradient, String name);

    /** Stops the gradient at the point: zero flows on to earlier points. */
    static BackwardHook stop() {
        return (g, name) -> Tensor.zeros(g.device(), g.shape());
    }
}
