package dev.loupe.tensor;

/**
 * Elementwise maps of one operand that a {@link Backend} implements. Parametric ones read {@code p0} (and
 * {@code p1}); the {@code *_GRAD} entries are derivatives used by backward passes.
 */
public enum UnaryOp {
    NEG, EXP, LOG, SQRT, RSQRT, TANH, RELU, SIGMOID, ABS, SQUARE, RECIPROCAL, SIGN,
    /** x·Φ(x), Φ the standard normal CDF (BERT, PyTorch's default GELU). */
    GELU_ERF,
    /** 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) (GPT-2's "gelu_new"). */
    GELU_TANH,
    /** d/dx of {@link #GELU_ERF}. */
    GELU_ERF_GRAD,
    /** d/dx of {@link #GELU_TANH}. */
    GELU_TANH_GRAD,
    /** x + p0. */
    ADD_SCALAR,
    /** x · p0. */
    MUL_SCALAR,
    /** x ^ p0. */
    POW_SCALAR,
    /** min(max(x, p0), p1). */
    CLAMP;

    private final String label = name().toLowerCase(java.util.Locale.ROOT);

    /** The lower-case name that gradient records and error messages use, e.g. {@code "add"}. */
    public String label() {
        return label;
    }
}
