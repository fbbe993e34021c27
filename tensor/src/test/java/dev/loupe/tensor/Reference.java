package dev.loupe.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.function.ToDoubleFunction;

/** Helpers for writing a test's expected tensor as an explicit formula per element. */
final class Reference {
    private Reference() {
    }

    /** A tensor of {@code shape} whose element at each index is {@code f(index)}; {@code index} is reused. */
    static Tensor build(int[] shape, ToDoubleFunction<int[]> f) {
        float[] data = new float[Shapes.numel(shape)];
        int[] ix = new int[shape.length];
        for (int flat = 0; flat < data.length; flat++) {
            data[flat] = (float) f.applyAsDouble(ix);
            for (int d = shape.length - 1; d >= 0 && ++ix[d] == shape[d]; d--) ix[d] = 0; // row-major odometer
        }
        return Tensor.of(data, shape);
    }

    /** The dims as a shape, so that {@code build(shape(2, 3), ...)} reads as it means. */
    static int[] shape(int... dims) {
        return dims;
    }

    /** Same shape, and elements within 1e-4 (float32 sums of a few O(1) products). */
    static void assertClose(Tensor expected, Tensor actual) {
        assertClose(expected, actual, "");
    }

    /** {@link #assertClose(Tensor, Tensor)} with a message saying what is compared. */
    static void assertClose(Tensor expected, Tensor actual, String message) {
        assertArrayEquals(expected.shape(), actual.shape(), message + " (shape)");
        assertArrayEquals(expected.toFloatArray(), actual.toFloatArray(), 1e-4f, message);
    }
}
