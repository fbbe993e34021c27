package dev.loupe.tensor;

/** Reductions along one dimension that a {@link Backend} implements. */
public enum ReduceOp {
    SUM, MAX, MIN
}
