package dev.loupe.tensor;

import org.junit.jupiter.api.Test;

/**
 * Finite-difference checks of every differentiable elementwise op, at inputs away from kinks (relu, abs and clamp
 * not at 0 or their bounds; log, sqrt and rsqrt positive), and of gradients summed back over broadcast dims.
 */
class ElementwiseGradTest {
    /** [3, 5] values with |x| in [0.3, 2.3]: away from 0 and from the clamp bounds used below. */
    private static Tensor awayFromKinks(long seed) {
        Rng rng = new Rng(seed);
        float[] v = new float[15];
        for (int i = 0; i < v.length; i++) {
            float m = 0.3f + 2f * rng.nextFloat();
            if (Math.abs(m - 1f) < 0.1f) m += 0.2f; // clamp bound at ±1
            v[i] = rng.nextFloat() < 0.5f ? -m : m;
        }
        return Tensor.of(v, 3, 5);
    }

    private static Tensor positive(long seed) {
        return awayFromKinks(seed).abs();
    }

    @Test
    void unaryOpsOfAnySignHaveFiniteDifferenceGradients() {
        Tensor x = awayFromKinks(1);
        GradCheck.check(t -> t[0].neg(), x);
        GradCheck.check(t -> t[0].exp(), x);
        GradCheck.check(t -> t[0].tanh(), x);
        GradCheck.check(t -> t[0].relu(), x);
        GradCheck.check(t -> t[0].sigmoid(), x);
        GradCheck.check(t -> t[0].abs(), x);
        GradCheck.check(t -> t[0].square(), x);
        GradCheck.check(t -> t[0].reciprocal(), x);
        GradCheck.check(t -> t[0].gelu(), x);
        GradCheck.check(t -> t[0].geluTanh(), x);
        GradCheck.check(t -> t[0].add(0.7f).mul(-1.3f).sub(2f).div(3f), x);
        GradCheck.check(t -> t[0].clamp(-1f, 1f), x);
        GradCheck.check(t -> t[0].pow(3f), x);
        GradCheck.check(t -> t[0].pow(2f), x);
    }

    @Test
    void unaryOpsOfPositiveInputsHaveFiniteDifferenceGradients() {
        Tensor x = positive(2);
        GradCheck.check(t -> t[0].log(), x);
        GradCheck.check(t -> t[0].sqrt(), x);
        GradCheck.check(t -> t[0].rsqrt(), x);
        GradCheck.check(t -> t[0].pow(1.7f), x);
        GradCheck.check(t -> t[0].pow(-0.5f), x);
    }

    @Test
    void signHasAZeroGradient() {
        GradCheck.check(t -> t[0].sign().add(t[0]), awayFromKinks(3));
    }

    @Test
    void binaryOpsHaveGradientsInBothOperands() {
        Tensor a = awayFromKinks(4), b = awayFromKinks(5);
        GradCheck.check(t -> t[0].add(t[1]), a, b);
        GradCheck.check(t -> t[0].sub(t[1]), a, b);
        GradCheck.check(t -> t[0].mul(t[1]), a, b);
        GradCheck.check(t -> t[0].div(t[1]), a, b);
        GradCheck.check(t -> t[0].pow(t[1]), positive(6), b);
        GradCheck.check(t -> t[0].maximum(t[1]), a, b);
        GradCheck.check(t -> t[0].minimum(t[1]), a, b);
    }

    @Test
    void broadcastGradientsAreSummedBackToEachOperandsShape() {
        Rng rng = new Rng(7);
        Tensor a = Tensor.randn(rng, 3, 1, 4), b = Tensor.randn(rng, 2, 4).abs().add(0.5f), s = Tensor.scalar(0.8f);
        GradCheck.check(t -> t[0].add(t[1]), a, b);
        GradCheck.check(t -> t[0].mul(t[1]).sub(t[1]), a, b);
        GradCheck.check(t -> t[0].div(t[1]), a, b);
        GradCheck.check(t -> t[0].mul(t[1]).add(t[1]), a, s);
        GradCheck.check(t -> t[1].pow(t[0]), a, b);
        GradCheck.check(t -> t[0].maximum(t[1]), a, Tensor.randn(rng, 4));
    }

    @Test
    void whereAndMaskedFillRouteGradientsToTheChosenOperand() {
        Rng rng = new Rng(9);
        Tensor cond = Tensor.randn(rng, 3, 1).gt(0f), a = Tensor.randn(rng, 3, 4), b = Tensor.randn(rng, 4);
        GradCheck.check(t -> Tensor.where(cond, t[0], t[1]), a, b);
        Tensor mask = Tensor.randn(rng, 4).gt(0f);
        GradCheck.check(t -> t[0].maskedFill(mask, -5f).tanh(), a);
    }
}
