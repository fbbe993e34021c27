package dev.loupe.transformer.gpt2;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Writes the GPT-2 folder that {@code make_saved_model_fixture.py} hands to {@code torch_gpt2.py logits}: the model
 * {@link Gpt2SaveTest} re-creates and compares against the committed copy.
 */
public final class SavedModelFixture {
    static final long SEED = 20240611L;
    static final int[] TOKENS = {3, 17, 42, 0, 63, 8, 8, 29, 51, 12};

    private SavedModelFixture() {
    }

    static Gpt2Model model() {
        return TinyGpt2.random(TinyGpt2.config(), SEED);
    }

    /** args[0]: the folder to write. */
    public static void main(String[] args) throws IOException {
        model().save(Path.of(args[0]));
    }
}
