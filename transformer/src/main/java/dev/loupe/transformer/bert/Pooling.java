package dev.loupe.transformer.bert;

import dev.loupe.tensor.Tensor;

/**
 * How a sentence embedding is made from the last hidden state, as sentence-transformers' {@code Pooling} module (and an
 * optional {@code Normalize} module after it) does it.
 *
 * @param mode      which tokens are pooled and how
 * @param normalize divide the pooled vector by its L2 norm (clamped at 1e-12)
 */
public record Pooling(Mode mode, boolean normalize) {
    public enum Mode {
        /** Mean over the real (mask 1) tokens. */
        MEAN,
        /** The first token ([CLS]). */
        CLS,
        /** Elementwise maximum over the real tokens. */
        MAX
    }

    public Pooling {
        if (mode == null) throw new IllegalArgumentException("mode must not be null");
    }

    /**
     * The pooled vectors, before normalisation.
     *
     * @param hidden last hidden state [batch, pos, d_model]
     * @param mask   [batch, pos], 1 for real tokens
     * @return [batch, d_model]
     */
    public Tensor pool(Tensor hidden, Tensor mask) {
        Tensor m = mask.unsqueeze(2); // [batch, pos, 1]
        return switch (mode) {
            case MEAN -> hidden.mul(m).sum(1).div(mask.sum(1, true));
            case CLS -> hidden.select(1, 0);
            // sentence-transformers sets padding to -1e9 before the max; any real token beats it
            case MAX -> hidden.maskedFill(m.eq(0f), -1e9f).max(1, false);
        };
    }

    /** x / max(‖x‖₂, 1e-12) along the last dim: [batch, d_model] → [batch, d_model]. */
    public static Tensor l2Normalize(Tensor x) {
        return x.div(x.norm(2f, -1, true).clamp(1e-12f, Float.MAX_VALUE));
    }
}
