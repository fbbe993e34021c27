package dev.loupe.transformer.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.tensor.Tensor;
import dev.loupe.weights.Checkpoint;
import dev.loupe.weights.SafeTensors;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** The files {@code src/test/python/make_bert_fixtures.py} writes, and the torch reference values among them. */
final class BertFixtures {
    private BertFixtures() {
    }

    static Path path(String relative) {
        try {
            return Path.of(BertFixtures.class.getResource("/bert/" + relative).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("missing fixture bert/" + relative + "; run make_bert_fixtures.py", e);
        }
    }

    /** Every tensor of {@code expected.safetensors}, on the heap. */
    static Map<String, Tensor> expected() throws IOException {
        Map<String, Tensor> m = new HashMap<>();
        try (Checkpoint c = SafeTensors.open(path("expected.safetensors"))) {
            for (String n : c.names()) m.put(n, c.load(n));
        }
        return m;
    }

    /** The input torch used: ids, types, mask as written. */
    static BertInput input(Map<String, Tensor> expected) {
        return new BertInput(expected.get("input.ids"), expected.get("input.types"), expected.get("input.mask"));
    }

    /**
     * Asserts {@code actual} matches {@code expected} elementwise within {@code tol} · max(1, max|expected|), equal
     * infinities (masked attention scores) included.
     */
    static double assertClose(String what, Tensor expected, Tensor actual, double tol) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        float[] e = expected.toFloatArray(), a = actual.toFloatArray();
        double scale = 1, err = 0;
        for (float x : e) if (Float.isFinite(x)) scale = Math.max(scale, Math.abs(x));
        for (int i = 0; i < e.length; i++) {
            if (Float.isInfinite(e[i]) || Float.isInfinite(a[i])) {
                assertTrue(e[i] == a[i], what + "[" + i + "]: expected " + e[i] + " but got " + a[i]);
                continue;
            }
            err = Math.max(err, Math.abs(e[i] - a[i]));
        }
        assertTrue(err <= tol * scale, what + ": max abs error " + err + " exceeds " + tol + " x " + scale);
        return err / scale;
    }
}
