package dev.loupe.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.junit.jupiter.api.Test;

class SmokeTest {
    @Test
    void broadcastAddMulAndTheirGradientsMatchFiniteDifferences() {
        Rng rng = new Rng(7);
        Tensor a = Tensor.randn(rng, 3, 4), b = Tensor.randn(rng, 4);
        GradCheck.check(x -> x[0].mul(x[1]).add(x[1]).tanh(), a, b);
    }

    @Test
    void matmulOfTransposedViewEqualsHandComputedProduct() {
        Tensor a = Tensor.of(new float[][] {{1, 2}, {3, 4}, {5, 6}}); // [3, 2]
        Tensor b = Tensor.of(new float[][] {{1, 0, 2}, {0, 1, 3}}); // [2, 3]
        // aᵀ [2, 3] @ bᵀ [3, 2]
        Tensor c = a.transpose(0, 1).matmul(b.transpose(0, 1));
        assertArrayEquals(new float[] {1 + 0 + 10, 0 + 3 + 15, 2 + 0 + 12, 0 + 4 + 18}, c.toFloatArray(), 1e-6f);
        GradCheck.check(x -> x[0].matmul(x[1]), Tensor.randn(new Rng(1), 2, 3, 4), Tensor.randn(new Rng(2), 4, 5));
    }
}
