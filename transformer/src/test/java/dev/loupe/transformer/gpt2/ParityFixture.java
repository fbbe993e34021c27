package dev.loupe.transformer.gpt2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.hooks.Hooks;
import dev.loupe.weights.Checkpoint;
import dev.loupe.weights.Checkpoints;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The torch fixtures written by {@code src/test/python/make_gpt2_fixtures.py} (an independent float64 GPT-2 /
 * GPT-Neo with TransformerLens hook semantics), and the one tolerance every parity test holds Loupe to: per tensor,
 * {@code max|ours - ref| <= 1e-4 * max(1, max|ref|)}, with -inf equal only to -inf.
 */
final class ParityFixture {
    static final double RELATIVE_TOLERANCE = 1e-4;
    private static double worst; // largest max|ours - ref| / max(1, max|ref|) seen in this JVM, for reports

    private ParityFixture() {
    }

    /** {@code fixtures/<relative>} among the test resources. */
    static Path path(String relative) {
        try {
            return Path.of(ParityFixture.class.getResource("/fixtures/" + relative).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("missing fixture " + relative + "; run make_gpt2_fixtures.py", e);
        }
    }

    /** Every tensor of {@code <family>/expected.safetensors} (heap copies), by name. */
    static Map<String, Tensor> expected(String family) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (Checkpoint c = Checkpoints.open(path(family + "/expected.safetensors"))) {
            for (String name : c.names()) out.put(name, c.load(name));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /** The fixture's token batch: {@code tokens} [batch, pos] stored as floats. */
    static TokenBatch tokens(Map<String, Tensor> expected) {
        Tensor t = expected.get("tokens");
        int b = t.size(0), p = t.size(1);
        float[] v = t.toFloatArray();
        int[][] rows = new int[b][p];
        for (int r = 0; r < b; r++) for (int i = 0; i < p; i++) rows[r][i] = Math.round(v[r * p + i]);
        return TokenBatch.of(rows);
    }

    /** Mean next-token cross-entropy over every position of every row: logits [batch, pos, vocab] → scalar. */
    static Tensor loss(Tensor logits, TokenBatch batch) {
        int b = batch.batch(), p = batch.length(), vocab = logits.size(2);
        int[] targets = new int[b * (p - 1)];
        for (int r = 0; r < b; r++) for (int i = 1; i < p; i++) targets[r * (p - 1) + i - 1] = batch.token(r, i);
        // narrow leaves a non-contiguous view, so reshape (which copies, recorded) rather than view
        return logits.narrow(1, 0, p - 1).reshape(-1, vocab).crossEntropy(Tensor.indices(targets));
    }

    /** What one call with gradients gives: the model (its leaves hold parameter gradients), logits, cache, loss. */
    record Traced(Gpt2Model model, Gpt2Model.Output output, Tensor loss) {
    }

    /** Loads {@code folder} onto the heap, marks every parameter as requiring grad, runs, and back-propagates. */
    static Traced trace(Path folder, TokenBatch batch, Hooks hooks) {
        Gpt2Model model;
        try {
            model = Gpt2Model.load(folder, Gpt2Model.Placement.HEAP);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        model.weights().requireGrad();
        Gpt2Model.Output out = model.run(batch, hooks);
        Tensor loss = loss(out.logits(), batch);
        loss.backward();
        return new Traced(model, out, loss);
    }

    /** Asserts the parity tolerance and returns this tensor's relative error. */
    static double assertClose(String what, Tensor ours, Tensor ref) {
        if (ours == null) fail(what + ": no tensor on our side");
        assertArrayEquals(ref.shape(), ours.shape(), what + ": shape " + Arrays.toString(ours.shape())
                + " but the reference is " + Arrays.toString(ref.shape()));
        float[] a = ours.contiguous().toFloatArray(), r = ref.contiguous().toFloatArray();
        double maxRef = 0, maxDiff = 0;
        int at = -1;
        for (int i = 0; i < r.length; i++) {
            if (Float.isInfinite(r[i]) || Float.isInfinite(a[i])) {
                if (a[i] != r[i]) fail(what + ": element " + i + " is " + a[i] + " but the reference is " + r[i]);
                continue;
            }
            if (Float.isNaN(a[i]) || Float.isNaN(r[i])) fail(what + ": NaN at element " + i + " (ours " + a[i]
                    + ", reference " + r[i] + ")");
            maxRef = Math.max(maxRef, Math.abs(r[i]));
            double d = Math.abs((double) a[i] - r[i]);
            if (d > maxDiff) {
                maxDiff = d;
                at = i;
            }
        }
        double rel = maxDiff / Math.max(1, maxRef);
        synchronized (ParityFixture.class) {
            worst = Math.max(worst, rel);
        }
        if (rel > RELATIVE_TOLERANCE) {
            fail(String.format("%s: max |ours - ref| = %.3g at element %d (ours %s, reference %s), max |ref| = %.3g:"
                    + " relative %.3g > %.0e", what, maxDiff, at, a[at], r[at], maxRef, rel, RELATIVE_TOLERANCE));
        }
        return rel;
    }

    /** The largest relative error any {@link #assertClose} saw so far in this JVM. */
    static synchronized double worst() {
        return worst;
    }
}
