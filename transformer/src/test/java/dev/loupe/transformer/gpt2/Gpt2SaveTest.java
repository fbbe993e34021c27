package dev.loupe.transformer.gpt2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.weights.json.Json;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Gpt2SaveTest {
    @TempDir
    Path dir;

    @Test
    void savedFolderLoadsBackBitIdentically() throws IOException {
        Gpt2Model model = TinyGpt2.random(TinyGpt2.config(), 5);
        model.save(dir);
        for (Gpt2Model.Placement placement : List.of(Gpt2Model.Placement.HEAP, Gpt2Model.Placement.MAPPED)) {
            try (Gpt2Model back = Gpt2Model.load(dir, placement)) {
                assertEquals(model.config(), back.config());
                Map<String, Tensor> want = model.weights().named(), got = back.weights().named();
                assertEquals(want.keySet(), got.keySet());
                for (String name : want.keySet()) {
                    assertArrayEquals(want.get(name).toFloatArray(), got.get(name).toFloatArray(), name);
                }
                assertEquals(true, back.weights().tied());
                // Equal weights give equal logits up to rounding: the CPU kernels are not bit-reproducible across JIT
                // tiers (interpreted and compiled SIMD code round differently), so exact equality would be flaky.
                TokenBatch batch = TokenBatch.of(new int[] {1, 2, 3, 60, 7});
                assertArrayEquals(model.forward(batch).toFloatArray(), back.forward(batch).toFloatArray(), 1e-5f);
            }
        }
    }

    @Test
    void attentionOnlyAndUntiedModelsRoundTrip() throws IOException {
        Gpt2Config c = TinyGpt2.config().attentionOnly();
        Gpt2Weights w = Gpt2Weights.init(c, new dev.loupe.tensor.Rng(3));
        Tensor head = Tensor.randn(new dev.loupe.tensor.Rng(4), c.dModel(), c.dVocab());
        Gpt2Model untied = new Gpt2Model(c, new Gpt2Weights(w.nHeads(), w.wte(), w.wpe(), w.blocks(), w.lnFinalW(),
                w.lnFinalB(), head, null));
        untied.save(dir);
        try (Gpt2Model back = Gpt2Model.load(dir)) {
            assertEquals(c, back.config());
            assertArrayEquals(head.toFloatArray(), back.weights().wU().toFloatArray());
            TokenBatch batch = TokenBatch.of(new int[] {5, 9, 11});
            assertArrayEquals(untied.forward(batch).toFloatArray(), back.forward(batch).toFloatArray(), 1e-5f);
        }
    }

    @Test
    void saveStillWritesTheCommittedFolderByteForByte() throws IOException {
        SavedModelFixture.model().save(dir);
        for (String f : List.of("config.json", "model.safetensors")) {
            assertArrayEquals(Files.readAllBytes(fixture().resolve(f)), Files.readAllBytes(dir.resolve(f)), f);
        }
    }

    /** torch_logits.json: what torch_gpt2.py computed from the folder our save wrote (make_saved_model_fixture.py). */
    @Test
    void torchComputesOurLogitsFromAFolderWeSaved() throws IOException {
        Map<?, ?> ref = (Map<?, ?>) Json.parse(Files.readString(fixture().resolve("torch_logits.json")));
        int[] tokens = ((List<?>) ref.get("tokens")).stream().mapToInt(x -> ((Number) x).intValue()).toArray();
        assertArrayEquals(SavedModelFixture.TOKENS, tokens);
        List<?> rows = (List<?>) ref.get("logits");
        try (Gpt2Model model = Gpt2Model.load(fixture())) {
            Tensor logits = model.forward(TokenBatch.of(tokens)); // [1, pos, vocab]
            assertEquals(tokens.length, rows.size());
            double maxErr = 0;
            for (int p = 0; p < tokens.length; p++) {
                List<?> row = (List<?>) rows.get(p);
                assertEquals(model.config().dVocab(), row.size());
                for (int v = 0; v < row.size(); v++) {
                    maxErr = Math.max(maxErr, Math.abs(((Number) row.get(v)).doubleValue() - logits.get(0, p, v)));
                }
            }
            assertEquals(0, maxErr, 2e-5, "max |ours - torch| over all logits");
        }
    }

    @Test
    void gptNeoCannotBeSavedAsAGpt2Folder() {
        Gpt2Config c = TinyGpt2.config();
        Gpt2Config neo = new Gpt2Config(Gpt2Config.Family.GPT_NEO, c.nLayers(), c.dModel(), c.nHeads(), c.dHead(),
                c.dMlp(), c.dVocab(), c.nCtx(), c.lnEps(), c.activation(), false, false, c.attention(), 0,
                Gpt2Config.Normalization.LN);
        Gpt2Model model = new Gpt2Model(neo, Gpt2Weights.init(neo, new dev.loupe.tensor.Rng(1)));
        assertThrows(UnsupportedOperationException.class, () -> model.save(dir));
    }

    private static Path fixture() {
        try {
            return Path.of(Gpt2SaveTest.class.getResource("/fixtures/saved_gpt2").toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
