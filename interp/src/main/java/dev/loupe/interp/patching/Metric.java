package dev.loupe.interp.patching;

import dev.loupe.tensor.Tensor;

/**
 * A scalar summary of a run, computed from its logits: what a patching experiment measures. Any Java function of the
 * logits is a metric; {@link Metrics} has the usual ones.
 */
@FunctionalInterface
public interface Metric {
    /**
     * @param logits [batch, pos, d_vocab]
     * @return a scalar tensor (shape []), e.g. a mean over the batch
     */
    Tensor apply(Tensor logits);

    /**
     * True when the metric reads only the last position's logits, so that a sweep may pass it logits
     * [batch, 1, d_vocab] of that position alone (see {@link Metrics#lastPosition}). False unless declared.
     */
    default boolean readsLastPositionOnly() {
        return false;
    }
}
