package dev.loupe.tensor;

/**
 * The backward half of one differentiable op: given the gradient of the op's output, returns the gradient of each
 * input, in the order the inputs were recorded ({@code null} for an input that gets none). Each returned gradient
 * has its input's shape. Runs with gradient recording off. An op's closure captures exactly what backward needs.
 */
@FunctionalInterface
public interface GradFn {
    /**
     * @param gradOutput gradient of the op's output, shaped like the output
     * @return one gradient per recorded input, each shaped like that input, or {@code null}
     */
    Tensor[] apply(Tensor gradOutput);
}
