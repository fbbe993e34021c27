package dev.loupe.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Gradients of the neural-network ops against finite differences ({@link GradCheck}). */
class NNGradTest {
    private static Tensor randn(long seed, int... shape) {
        return Tensor.randn(new Rng(seed), shape);
    }

    @Test
    void softmaxGradientOverEveryDim() {
        for (int dim = -1; dim < 3; dim++) {
            int d = dim;
            GradCheck.check(x -> x[0].softmax(d), randn(1, 2, 3, 4));
        }
    }

    @Test
    void logSoftmaxGradientOverEveryDim() {
        for (int dim = 0; dim < 3; dim++) {
            int d = dim;
            GradCheck.check(x -> x[0].logSoftmax(d), randn(2, 2, 3, 4));
        }
    }

    @Test
    void softmaxGradientThroughTransposedInput() {
        GradCheck.check(x -> x[0].transpose(0, 2).softmax(1), randn(3, 3, 2, 5));
        GradCheck.check(x -> x[0].transpose(0, 1).logSoftmax(-1), randn(4, 3, 18));
    }

    @Test
    void maskedSoftmaxGradientIsZeroAtMaskedPositions() {
        Tensor mask = Tensor.of(new float[][] {{0, 1, 1}, {0, 0, 1}, {0, 0, 0}});
        GradCheck.check(x -> x[0].maskedFill(mask, Float.NEGATIVE_INFINITY).softmax(-1), randn(5, 2, 3, 3));
    }

    @Test
    void layerNormGradientOfInputWeightAndBias() {
        GradCheck.check(x -> x[0].layerNorm(x[1], x[2], 1e-5f), randn(6, 3, 5), randn(7, 5), randn(8, 5));
        GradCheck.check(x -> x[0].layerNorm(x[1], x[2], 1e-5f), randn(9, 2, 2, 37), randn(10, 37), randn(11, 37));
    }

    @Test
    void layerNormGradientWithoutWeightOrBias() {
        GradCheck.check(x -> x[0].layerNorm(null, null, 1e-5f), randn(12, 4, 6));
        GradCheck.check(x -> x[0].layerNorm(x[1], null, 1e-5f), randn(13, 3, 7), randn(14, 7));
        GradCheck.check(x -> x[0].transpose(0, 1).layerNorm(null, x[1], 1e-5f), randn(15, 6, 3), randn(16, 6));
    }

    @Test
    void crossEntropyGradientWithIgnoredTargets() {
        Tensor targets = Tensor.indices(1, -1, 4, 0, -5);
        GradCheck.check(x -> x[0].crossEntropy(targets), randn(17, 5, 6));
    }

    @Test
    void crossEntropyGradientIsSoftmaxMinusOneHotOverCount() {
        Tensor logits = randn(18, 3, 4).setRequiresGrad(true);
        logits.crossEntropy(Tensor.indices(2, -1, 0)).backward();
        double[] p = NNTest.softmaxRef(logits.toFloatArray(), new int[] {3, 4}, 1, false);
        float[] g = logits.grad().toFloatArray();
        for (int c = 0; c < 4; c++) {
            assertEquals((p[c] - (c == 2 ? 1 : 0)) / 2, g[c], 1e-6);
            assertEquals(0f, g[4 + c], "ignored row");
            assertEquals((p[8 + c] - (c == 0 ? 1 : 0)) / 2, g[8 + c], 1e-6);
        }
    }

    @Test
    void crossEntropyWithEveryTargetIgnoredHasZeroGradient() {
        Tensor logits = randn(19, 2, 3).setRequiresGrad(true);
        logits.crossEntropy(Tensor.indices(-1, -1)).backward();
        assertArrayEquals(new float[6], logits.grad().toFloatArray());
    }

    @Test
    void embeddingGradientAccumulatesRepeatedIds() {
        Tensor ids = Tensor.indices(new int[][] {{1, 1, 3}, {0, 1, 4}});
        GradCheck.check(x -> Tensor.embedding(x[0], ids), randn(20, 5, 3));

        Tensor weight = randn(21, 5, 2).setRequiresGrad(true);
        Tensor.embedding(weight, ids).sum().backward();
        // Row i of the gradient counts how often id i occurs, in every column.
        assertArrayEquals(new float[] {1, 1, 3, 3, 0, 0, 1, 1, 1, 1}, weight.grad().toFloatArray());
    }

    @Test
    void layerNormGradientsOnManyRowsMatchTheSameFormulaBuiltFromElementaryOps() {
        // Large enough that the rows split over threads; the reference is differentiated op by op.
        Tensor x = randn(22, 2, 150, 96).mul(3f).add(1f), w = randn(23, 96), b = randn(24, 96), g = randn(25, 2, 150, 96);
        Tensor[] fused = {x.detach().setRequiresGrad(true), w.detach().setRequiresGrad(true),
            b.detach().setRequiresGrad(true)};
        Tensor[] composed = {x.detach().setRequiresGrad(true), w.detach().setRequiresGrad(true),
            b.detach().setRequiresGrad(true)};
        fused[0].layerNorm(fused[1], fused[2], 1e-5f).backward(g);
        Tensor c = composed[0];
        Tensor centered = c.sub(c.mean(-1, true));
        Tensor normalized = centered.div(centered.square().mean(-1, true).add(1e-5f).sqrt());
        normalized.mul(composed[1]).add(composed[2]).backward(g);
        for (int i = 0; i < 3; i++) {
            float[] want = composed[i].grad().toFloatArray(), got = fused[i].grad().toFloatArray();
            for (int j = 0; j < want.length; j++) {
                assertEquals(want[j], got[j], 1e-4 * Math.max(1, Math.abs(want[j])), "input " + i + " at " + j);
            }
        }
    }
}
