package dev.loupe.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.loupe.tensor.DType;
import dev.loupe.weights.json.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The fixture files written by {@code src/test/python/make_fixtures.py} and the reference values torch computed for
 * them ({@code expected.json}: file → tensor → dtype, shape, row-major values).
 */
final class Fixtures {
    private Fixtures() {}

    static Path path(String relative) {
        try {
            return Path.of(Fixtures.class.getResource("/fixtures/" + relative).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("missing fixture " + relative + "; run make_fixtures.py", e);
        }
    }

    static byte[] bytes(String relative) {
        try {
            return Files.readAllBytes(path(relative));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The torch reference for {@code file}'s tensors. */
    @SuppressWarnings("unchecked")
    static Map<String, Map<String, Object>> expected(String file) {
        Map<String, Object> all = (Map<String, Object>) Json.parse(new String(bytes("expected.json"),
                java.nio.charset.StandardCharsets.UTF_8));
        return (Map<String, Map<String, Object>>) all.get(file);
    }

    /** Asserts that every float tensor of the reference reads back exactly, with its dtype and shape. */
    static void assertMatches(Map<String, Map<String, Object>> expected, Checkpoint c) {
        for (Map.Entry<String, Map<String, Object>> e : expected.entrySet()) {
            String name = e.getKey(), dtype = (String) e.getValue().get("dtype");
            int[] shape = ((List<?>) e.getValue().get("shape")).stream().mapToInt(x -> ((Long) x).intValue()).toArray();
            if (dtype.equals("I64")) {
                assertEquals(true, c.skipped().containsKey(name), name + " should be skipped");
                continue;
            }
            List<?> values = (List<?>) e.getValue().get("values");
            float[] want = new float[values.size()];
            for (int i = 0; i < want.length; i++) want[i] = ((Number) values.get(i)).floatValue();
            assertEquals(DType.valueOf(dtype), c.dtype(name), name);
            assertArrayEquals(shape, c.shape(name), name);
            assertArrayEquals(shape, c.get(name).shape(), name);
            assertArrayEquals(want, c.load(name).toFloatArray(), name); // exact: widening is exact
        }
    }
}
