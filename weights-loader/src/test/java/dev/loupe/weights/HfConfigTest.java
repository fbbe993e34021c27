package dev.loupe.weights;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.NoSuchElementException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HfConfigTest {
    @TempDir
    Path dir;

    @Test
    void typedGettersReadTheValuesTheGeneratorWrote() throws IOException {
        HfConfig c = HfConfig.read(Fixtures.path("hf_safetensors"));
        assertEquals("config.json", c.file().getFileName().toString());
        assertEquals(2, c.getInt("n_layer"));
        assertEquals("gpt2", c.getString("model_type"));
        assertEquals(1e-5, c.getDouble("layer_norm_epsilon"));
        assertEquals(4.0, c.getDouble("n_embd"));
        assertTrue(c.getBoolean("scale_attn_weights"));
        assertFalse(c.has("n_inner"), "JSON null counts as absent");
        assertEquals(16, c.getInt("n_inner", 16));
        assertEquals(1024, c.getInt("n_positions", 1024));
        assertEquals("gelu_new", c.getString("activation_function", "gelu"));
    }

    @Test
    void missingAndMistypedKeysNameTheFileAndKey() throws IOException {
        HfConfig c = HfConfig.read(Fixtures.path("hf_safetensors/config.json"));
        String file = c.file().toString();
        NoSuchElementException missing = assertThrows(NoSuchElementException.class, () -> c.getInt("n_head"));
        assertEquals(file + ": key \"n_head\" is missing in the config", missing.getMessage());
        missing = assertThrows(NoSuchElementException.class, () -> c.getInt("n_inner"));
        assertEquals(file + ": key \"n_inner\" is null in the config", missing.getMessage());
        IllegalArgumentException wrong = assertThrows(IllegalArgumentException.class, () -> c.getInt("model_type"));
        assertEquals(file + ": key \"model_type\" should be an integer in int range but is \"gpt2\"", wrong.getMessage());
        wrong = assertThrows(IllegalArgumentException.class, () -> c.getInt("too_big"));
        assertTrue(wrong.getMessage().endsWith("but is 3000000000"), wrong.getMessage());
        assertThrows(IllegalArgumentException.class, () -> c.getInt("layer_norm_epsilon"));
        assertThrows(IllegalArgumentException.class, () -> c.getDouble("eps_str"));
        assertThrows(IllegalArgumentException.class, () -> c.getDouble("eps_str", 1e-5), "a default never hides a mistype");
        assertThrows(IllegalArgumentException.class, () -> c.getBoolean("n_layer"));
    }

    @Test
    void malformedConfigIsAWeightFileExceptionWithPosition() throws IOException {
        Path f = dir.resolve("config.json");
        Files.writeString(f, "{\n  \"n_layer\": 12,\n}");
        WeightFileException e = assertThrows(WeightFileException.class, () -> HfConfig.read(f));
        assertTrue(e.getMessage().startsWith(f + ": not valid JSON: "), e.getMessage());
        assertTrue(e.getMessage().contains("line 3, column 1"), e.getMessage());
    }
}
