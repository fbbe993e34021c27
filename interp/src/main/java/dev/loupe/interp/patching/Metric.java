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
}
