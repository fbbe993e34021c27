package dev.loupe.transformer.gpt2;

import dev.loupe.tensor.Tensor;
import java.util.Set;

/** GPT-2 (2 layers, d_model 16, 4 heads, vocab 64) against the torch fixture in {@code fixtures/gpt2}. */
class Gpt2ParityTest extends HookParityTest {
    @Override
    String family() {
        return "gpt2";
    }

    /** The file stores GPT-2's own names and [in, out] Conv1D layout: one name, no transposes. */
    @Override
    Tensor referenceGrad(String ourName, Set<String> used) {
        used.add(ourName);
        return ref("grad:" + ourName);
    }
}
