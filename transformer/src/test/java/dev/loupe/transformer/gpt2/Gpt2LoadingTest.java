package dev.loupe.transformer.gpt2;

import static dev.loupe.transformer.gpt2.ParityFixture.assertClose;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.weights.WeightFileException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every way a GPT-2-family folder can store its weights gives the torch logits of {@code make_gpt2_fixtures.py}:
 * float16 / bfloat16 copies (against torch's logits over the rounded weights), a {@code torch.save} state dict with
 * mask buffers and a tied {@code lm_head}, sharded safetensors, names with and without {@code transformer.}, every
 * placement; and broken folders fail with an {@link IOException}.
 */
class Gpt2LoadingTest {
    private static final Map<String, Tensor> GPT2 = ParityFixture.expected("gpt2");
    private static final Map<String, Tensor> NEO = ParityFixture.expected("gptneo");

    private static Tensor logits(Path folder, Gpt2Model.Placement placement, TokenBatch batch) throws IOException {
        try (Gpt2Model model = Gpt2Model.load(folder, placement)) {
            return model.forward(batch);
        }
    }

    @ParameterizedTest
    @CsvSource({"f16, HEAP", "f16, MAPPED", "bf16, HEAP", "bf16, MAPPED"})
    void halfPrecisionWeightsGiveTorchLogitsOfTheRoundedWeights(String dtype, Gpt2Model.Placement placement)
            throws IOException {
        Tensor ref = GPT2.get("logits_" + dtype);
        // The rounding must matter, or this test could not tell a widened copy from the float32 file.
        float gap = 0;
        float[] a = ref.toFloatArray(), b = GPT2.get("logits").toFloatArray();
        for (int i = 0; i < a.length; i++) gap = Math.max(gap, Math.abs(a[i] - b[i]));
        assertTrue(gap > 1e-3, "rounded weights change the logits by only " + gap);
        assertClose(dtype + " logits", logits(ParityFixture.path("gpt2/" + dtype), placement,
                ParityFixture.tokens(GPT2)), ref);
    }

    @ParameterizedTest
    @EnumSource(Gpt2Model.Placement.class)
    void everyPlacementGivesTheTorchLogits(Gpt2Model.Placement placement) throws IOException {
        assertClose("gpt2 logits", logits(ParityFixture.path("gpt2/model"), placement, ParityFixture.tokens(GPT2)),
                GPT2.get("logits"));
        assertClose("gpt-neo logits", logits(ParityFixture.path("gptneo/model"), placement,
                ParityFixture.tokens(NEO)), NEO.get("logits"));
    }

    /** torch.save(state_dict): "transformer." names, attn.bias / attn.masked_bias buffers, lm_head sharing wte. */
    @Test
    void pytorchBinWithBuffersAndTiedHeadGivesTheTorchLogits() throws IOException {
        try (Gpt2Model model = Gpt2Model.load(ParityFixture.path("gpt2/bin"), Gpt2Model.Placement.HEAP)) {
            assertTrue(model.weights().tied(), "lm_head.weight shares wte's storage, so the head must be tied");
            assertClose("bin logits", model.forward(ParityFixture.tokens(GPT2)), GPT2.get("logits"));
        }
    }

    /** Two shards behind model.safetensors.index.json, "transformer." names (the plain folder has none). */
    @Test
    void shardedSafetensorsWithPrefixGiveTheTorchLogits() throws IOException {
        assertClose("sharded logits", logits(ParityFixture.path("gpt2/sharded"), Gpt2Model.Placement.HEAP,
                ParityFixture.tokens(GPT2)), GPT2.get("logits"));
    }

    @Test
    void configWhoseWidthDisagreesWithTheFileNamesTheTensor(@TempDir Path dir) throws IOException {
        Path folder = copy("gpt2/model", dir);
        Path config = folder.resolve("config.json");
        String json = Files.readString(config);
        assertTrue(json.contains("\"n_embd\": 16,"), "fixture config layout changed: " + json);
        Files.writeString(config, json.replace("\"n_embd\": 16,", "\"n_embd\": 32,"));
        IOException e = assertThrows(IOException.class, () -> Gpt2Model.load(folder, Gpt2Model.Placement.HEAP));
        assertTrue(e.getMessage().contains("'wte.weight'") && e.getMessage().contains("[64, 16]")
                && e.getMessage().contains("[64, 32]"), e.getMessage());
    }

    @ParameterizedTest
    @CsvSource({"4", "100", "0.5", "0.99"})
    void truncatedSafetensorsIsAWeightFileExceptionNamingTheFile(double keep, @TempDir Path dir) throws IOException {
        Path folder = copy("gpt2/model", dir);
        Path file = folder.resolve("model.safetensors");
        byte[] all = Files.readAllBytes(file);
        int n = keep >= 1 ? (int) keep : (int) (all.length * keep);
        Files.write(file, Arrays.copyOf(all, n));
        for (Gpt2Model.Placement p : Gpt2Model.Placement.values()) {
            WeightFileException e = assertThrows(WeightFileException.class, () -> Gpt2Model.load(folder, p),
                    "kept " + n + " of " + all.length + " bytes, " + p);
            assertTrue(e.getMessage().contains("model.safetensors"), e.getMessage());
        }
    }

    private static Path copy(String fixture, Path dir) throws IOException {
        Path src = ParityFixture.path(fixture), dst = dir.resolve("model");
        Files.createDirectories(dst);
        try (var files = Files.list(src)) {
            for (Path f : files.toList()) Files.copy(f, dst.resolve(f.getFileName()));
        }
        return dst;
    }
}
