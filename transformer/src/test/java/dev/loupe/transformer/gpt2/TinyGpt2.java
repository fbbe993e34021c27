package dev.loupe.transformer.gpt2;

import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * Small GPT-2s with every parameter random (LayerNorm weights and biases included, unlike {@link Gpt2Weights#init}),
 * scaled so that logits vary by several units: a save that dropped a bias, or a generator that mixed up positions,
 * shows up in the numbers.
 */
public final class TinyGpt2 {
    private TinyGpt2() {
    }

    /** GPT-2 layout: 2 layers, d_model 16, 4 heads, vocab 64, context 24. */
    public static Gpt2Config config() {
        return Gpt2Config.gpt2(2, 16, 4, 64, 24);
    }

    public static Gpt2Model random(Gpt2Config c, long seed) {
        Rng rng = new Rng(seed);
        int d = c.dModel(), m = c.dMlp();
        Tensor wte = randn(rng, 0.5f, c.dVocab(), d);
        List<Gpt2Weights.Block> blocks = new ArrayList<>();
        for (int l = 0; l < c.nLayers(); l++) {
            blocks.add(new Gpt2Weights.Block(lnWeight(rng, d), randn(rng, 0.1f, d), randn(rng, 0.3f, d, 3 * d),
                    randn(rng, 0.1f, 3 * d), randn(rng, 0.3f, d, d), randn(rng, 0.1f, d), lnWeight(rng, d),
                    randn(rng, 0.1f, d), randn(rng, 0.3f, d, m), randn(rng, 0.1f, m), randn(rng, 0.2f, m, d),
                    randn(rng, 0.1f, d)));
        }
        Gpt2Weights w = new Gpt2Weights(c.nHeads(), wte, randn(rng, 0.3f, c.nCtx(), d), blocks, lnWeight(rng, d),
                randn(rng, 0.1f, d), wte.transpose(0, 1), null);
        return new Gpt2Model(c, w);
    }

    private static Tensor randn(Rng rng, float std, int... shape) {
        return Tensor.randn(rng, shape).mul(std);
    }

    private static Tensor lnWeight(Rng rng, int d) {
        return Tensor.randn(rng, d).mul(0.2f).add(1f);
    }
}
