package dev.loupe.tensor;

/** Elementwise maps of two operands that a {@link Backend} implements; comparisons yield 1 or 0. */
public enum BinaryOp {
    ADD, SUB, MUL, DIV, POW, MAX, MIN, EQ, NE, LT, LE, GT, GE
}
