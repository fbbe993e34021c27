package dev.loupe.cli;

import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.gpt2.Gpt2Config;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.gpt2.Gpt2Weights;
import dev.loupe.transformer.tokenizer.Gpt2Tokenizer;
import dev.loupe.weights.json.Json;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What the command tests share: the r50k tokenizer, an IOI prompt pair, a tiny random GPT-2 folder, and reading the
 * commands' JSON back.
 */
final class CliFixtures {
    static final Gpt2Tokenizer TOK = Gpt2Tokenizer.r50kBase();
    /** An IOI prompt whose answer is " Mary" (the indirect object), against {@link #CORRUPT}. */
    static final String CLEAN = "When Mary and John went to the store, John gave a drink to";
    /** {@link #CLEAN} with the second subject swapped for the indirect object, which turns the answer to " John". */
    static final String CORRUPT = "When Mary and John went to the store, Mary gave a drink to";

    private CliFixtures() {
    }

    /**
     * Saves to {@code dir} a GPT-2 of 2 layers, d_model 16, 4 heads, the r50k vocabulary and context 32, initialised
     * from {@code seed} and then every matrix redrawn from N(0, scale²), so that attention is far from uniform, and
     * returns it loaded back from the folder.
     */
    static Gpt2Model saveTinyGpt2(Path dir, long seed, float scale) throws IOException {
        Gpt2Config c = Gpt2Config.gpt2(2, 16, 4, 50257, 32);
        Rng rng = new Rng(seed);
        Gpt2Weights w = Gpt2Weights.init(c, rng);
        for (Tensor t : w.leaves()) if (t.rank() == 2) t.copyFrom(Tensor.randn(rng, t.shape()).mul(scale));
        new Gpt2Model(c, w).save(dir);
        return Gpt2Model.load(dir);
    }

    /** A JSON object printed or written by a command. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> json(String text) {
        return (Map<String, Object>) Json.parse(text.strip());
    }

    /** The number at {@code index} of nested JSON lists. */
    static double at(Object nested, int... index) {
        Object o = nested;
        for (int i : index) o = ((List<?>) o).get(i);
        return ((Number) o).doubleValue();
    }

    /** A JSON list of whole numbers. */
    static int[] ints(Object list) {
        return ((List<?>) list).stream().mapToInt(o -> ((Number) o).intValue()).toArray();
    }
}
