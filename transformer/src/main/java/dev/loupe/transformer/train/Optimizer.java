package dev.loupe.transformer.train;

/**
 * Updates parameters in place from the gradients that {@code backward()} accumulated into their {@code grad()}.
 * One training step is: forward, {@code loss.backward()}, {@link #step()}, {@link #zeroGrad()}.
 *
 * <p>Not thread-safe: one optimizer belongs to one training loop.
 */
public interface Optimizer {
    /**
     * Applies one update to every parameter that has a gradient (parameters whose {@code grad()} is null are skipped,
     * as PyTorch does, and their state is left as it was). Does not clear the gradients.
     */
    void step();

    /** Forgets every parameter's accumulated gradient, ready for the next backward. */
    void zeroGrad();
}
