package dev.loupe.transformer.train;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Config;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.gpt2.Gpt2Weights;
import org.junit.jupiter.api.Test;

/** A training step on a tied GPT-2 reaches every parameter, the unembedding's share of wte included. */
class TiedTrainingStepTest {
    @Test
    void tiedEmbeddingRowsOfUnseenTokensGetTheUnembeddingGradient() {
        Gpt2Config c = Gpt2Config.gpt2(2, 16, 2, 50, 8);
        Gpt2Weights w = Gpt2Weights.init(c, new Rng(1)).requireGrad();
        Gpt2Model m = new Gpt2Model(c, w);
        TokenBatch batch = TokenBatch.of(new int[] {1, 2, 3, 4});
        Tensor logits = m.forward(batch);
        logits.reshape(4, 50).crossEntropy(Tensor.indices(2, 3, 4, 5)).backward();
        for (Tensor p : w.leaves()) assertNotNull(p.grad(), "a parameter of shape " + java.util.Arrays.toString(p.shape()));
        // Token 40 is never an input: only the unembedding (softmax over all 50 classes) can give its row a gradient.
        float norm = w.wte().grad().select(0, 40).abs().sum().item();
        assertTrue(norm > 0, "wte row 40 got no gradient through the tied unembedding");
    }
}
