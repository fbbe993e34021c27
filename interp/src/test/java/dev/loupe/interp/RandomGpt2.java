package dev.loupe.interp;

import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.gpt2.Gpt2Config;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.gpt2.Gpt2Weights;

/**
 * Random GPT-2s for the interp tests, whose LayerNorms and biases are not the identity so that every term matters:
 * {@link Gpt2Weights#init}, then, from the same seeded stream, every vector shifted by 0.3·normal and every matrix
 * replaced by {@code matrixStd}·normal. The unembedding stays tied.
 */
public final class RandomGpt2 {
    private RandomGpt2() {
    }

    public static Gpt2Weights weights(Gpt2Config c, long seed, float matrixStd) {
        Rng rng = new Rng(seed);
        Gpt2Weights w = Gpt2Weights.init(c, rng);
        for (Tensor t : w.leaves()) {
            if (t.rank() == 1) t.copyFrom(Tensor.randn(rng, t.shape()).mul(0.3f).add(t));
            else t.copyFrom(Tensor.randn(rng, t.shape()).mul(matrixStd));
        }
        return w;
    }

    public static Gpt2Model model(Gpt2Config c, long seed, float matrixStd) {
        return new Gpt2Model(c, weights(c, seed, matrixStd));
    }
}
