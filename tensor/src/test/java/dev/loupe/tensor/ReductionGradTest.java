package dev.loupe.tensor;

import org.junit.jupiter.api.Test;

/** Finite-difference checks of every differentiable reduction, over each dim and with keepdim both ways. */
class ReductionGradTest {
    private static Tensor input(long seed, int... shape) {
        return Tensor.randn(new Rng(seed), shape);
    }

    @Test
    void sumAndMeanOverEachDimAndSeveralDims() {
        Tensor x = input(1, 2, 3, 4);
        for (int d = -3; d < 3; d++) {
            int dim = d;
            GradCheck.check(t -> t[0].sum(dim, true), x);
            GradCheck.check(t -> t[0].mean(dim, false), x);
        }
        GradCheck.check(t -> t[0].sum(new int[] {0, 2}, false), x);
        GradCheck.check(t -> t[0].mean(new int[] {2, 1}, true), x);
        GradCheck.check(t -> t[0].sum(), x);
        GradCheck.check(t -> t[0].mean(), x);
        GradCheck.check(t -> t[0].sumTo(3, 1), x);
    }

    @Test
    void logsumexpVarAndNorm() {
        Tensor x = input(2, 3, 5);
        for (int d = 0; d < 2; d++) {
            int dim = d;
            GradCheck.check(t -> t[0].logsumexp(dim, false), x);
            GradCheck.check(t -> t[0].logsumexp(dim, true).mul(2f), x);
            GradCheck.check(t -> t[0].var(dim, false, 0), x);
            GradCheck.check(t -> t[0].var(dim, true, 1), x);
            // |x| has a kink at 0: keep every element further from it than the finite-difference step.
            Tensor away = x.add(x.sign().mul(0.2f));
            for (float p : new float[] {1f, 2f, 3f}) GradCheck.check(t -> t[0].norm(p, dim, false), away);
        }
    }

    @Test
    void euclideanNormOfAZeroVectorHasAZeroGradient() {
        Tensor x = Tensor.zeros(2, 3).setRequiresGrad(true);
        x.norm(2f, 1, false).sum().backward();
        org.junit.jupiter.api.Assertions.assertArrayEquals(new float[6], x.grad().toFloatArray());
    }

    @Test
    void cosineSimilarityIncludingBroadcastOperands() {
        GradCheck.check(t -> t[0].cosineSimilarity(t[1], 1, 1e-8f), input(3, 3, 4), input(4, 3, 4));
        GradCheck.check(t -> t[0].cosineSimilarity(t[1], -1, 1e-8f), input(5, 2, 3, 4), input(6, 4));
        GradCheck.check(t -> t[0].cosineSimilarity(t[1], 0, 1e-8f), input(7, 1, 4), input(8, 3, 4));
    }

    @Test
    void maxAndMinSendTheGradientToTheExtremalElement() {
        Tensor x = input(9, 3, 5); // continuous values: no ties
        for (int d = 0; d < 2; d++) {
            int dim = d;
            GradCheck.check(t -> t[0].max(dim, false), x);
            GradCheck.check(t -> t[0].min(dim, true), x);
        }
    }
}
