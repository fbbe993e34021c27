package dev.loupe.tensor;

/** Elementwise maps of two operands that a {@link Backend} implements; comparisons yield 1 or 0. */
public enum BinaryOp {
    ADD, SUB, MUL, DIV, POW, MAX, MIN, EQ, NE, LT, LE, GT, GE;

    private final String label = name().toLowerCase(java.util.Locale.ROOT);

    /** The lower-case name that gradient records and error messages use, e.g. {@code "add"}. */
    public String label() {
        return label;
    }
}
