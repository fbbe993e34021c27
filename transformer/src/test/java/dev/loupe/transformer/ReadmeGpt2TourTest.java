package dev.loupe.transformer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.gpt2.Gpt2Config;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.gpt2.Gpt2Weights;
import dev.loupe.transformer.hooks.Hooks;
import dev.loupe.transformer.tokenizer.Gpt2Tokenizer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's GPT-2 section, run as written on a small random GPT-2 saved as a Hugging Face folder. */
class ReadmeGpt2TourTest {
    @Test
    void gpt2SectionRunsAsWrittenAndTheAblatedHeadGetsNoGradient(@TempDir Path models) throws Exception {
        Path saved = models.resolve("gpt2");
        Gpt2Config c = Gpt2Config.gpt2(10, 24, 12, 50257, 32);
        new Gpt2Model(c, Gpt2Weights.init(c, new Rng(1))).save(saved);

        Path dir = saved;
        Tensor pattern, dPattern, last;
        TokenBatch batch;
        try (Gpt2Model gpt2 = Gpt2Model.load(dir)) {
            Gpt2Tokenizer tok = Gpt2Tokenizer.fromFolder(dir);
            batch = TokenBatch.of(tok.encode("When Mary and John went to the store, John gave a drink to", true));

            Tensor keep = Tensor.ones(1, 1, 12, 1);
            keep.narrow(2, 6, 1).fill(0);
            Hooks hooks = Hooks.builder()
                    .cache("blocks\\.\\d+\\.attn\\.hook_pattern")
                    .cacheGradients()
                    .forward("blocks.9.attn.hook_z", (z, name) -> z.mul(keep))
                    .build();
            Gpt2Model.Output out = gpt2.run(batch, hooks);
            last = out.logits().select(1, batch.length() - 1);
            int mary = tok.encode(" Mary")[0], john = tok.encode(" John")[0];
            last.select(1, mary).sub(last.select(1, john)).sum().backward();
            pattern = out.cache().get("pattern", 9);
            dPattern = out.cache().grad("blocks.9.attn.hook_pattern");

            assertNotEquals(mary, john);
            assertNotEquals(last.get(0, mary), gpt2.forward(batch).select(1, batch.length() - 1).get(0, mary));
        }
        int t = batch.length();
        assertEquals(15, t); // BOS + 14 tokens
        assertArrayEquals(new int[] {1, 12, t, t}, pattern.shape());
        assertArrayEquals(new int[] {1, 12, t, t}, dPattern.shape());
        // The ablated head's output is multiplied by zero, so nothing flows back to its pattern; the others get some.
        assertEquals(0.0, dPattern.select(1, 6).abs().sum().item(), 0.0);
        assertNotEquals(0.0, dPattern.select(1, 5).abs().sum().item());
    }
}
