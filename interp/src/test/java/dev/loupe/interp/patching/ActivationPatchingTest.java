package dev.loupe.interp.patching;

import dev.loupe.interp.RandomGpt2;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Config;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.gpt2.Gpt2Weights;
import dev.loupe.transformer.hooks.ActivationCache;
import dev.loupe.transformer.hooks.Hooks;
import org.junit.jupiter.api.Test;

/**
 * Sweeps are held to what the causal structure of the model forces: clean and corrupted prompts differ in one token,
 * so patching the residual at that token (layer 0) or at the last position of the last layer restores the clean
 * metric exactly, patching where the runs agree changes nothing, and a head that writes nothing has no effect.
 */
class ActivationPatchingTest {
    private static final int LAYERS = 2, D = 16, HEADS = 4, VOCAB = 40, DIFF = 2;

    private static Gpt2Model model(boolean silenceL1H2) {
        Gpt2Config c = Gpt2Config.gpt2(LAYERS, D, HEADS, VOCAB, 12);
        Gpt2Weights w = RandomGpt2.weights(c, 5, 0.3f);
        if (silenceL1H2) w.blocks().get(1).wO().narrow(0, 2 * (D / HEADS), D / HEADS).fill(0);
        return new Gpt2Model(c, w);
    }

    private static final Gpt2Model MODEL = model(false);
    private static final TokenBatch CLEAN = TokenBatch.of(new int[] {4, 9, 13, 21, 7}, new int[] {8, 1, 30, 2, 6});
    private static final TokenBatch CORRUPT = TokenBatch.of(new int[] {4, 9, 35, 21, 7}, new int[] {8, 1, 11, 2, 6});
    private static final Metric METRIC = Metrics.logitDiff(new int[] {3, 5}, new int[] {17, 23});

    @Test
    void denoisingTheResidualRestoresTheCleanMetricExactlyWhereCausalityForcesIt() {
        ActivationCache clean = MODEL.run(CLEAN, Hooks.cacheAll()).cache();
        float cleanValue = ActivationPatching.baseline(MODEL, CLEAN, METRIC);
        float corruptValue = ActivationPatching.baseline(MODEL, CORRUPT, METRIC);
        Tensor grid = ActivationPatching.streamByPosition(MODEL, CORRUPT, clean, ActivationPatching.Stream.RESID_PRE,
                METRIC);
        assertArrayEquals(new int[] {LAYERS, 5}, grid.shape());
        assertEquals(cleanValue, grid.get(0, DIFF), 1e-5);          // the only differing token
        for (int p = 0; p < DIFF; p++) assertEquals(corruptValue, grid.get(0, p), 1e-6); // runs agree there
        Tensor post = ActivationPatching.streamByPosition(MODEL, CORRUPT, clean, ActivationPatching.Stream.RESID_POST,
                Metrics.normalized(METRIC, cleanValue, corruptValue));
        assertEquals(1f, post.get(LAYERS - 1, 4), 1e-4);             // the last residual decides the last logits
        assertEquals(0f, post.get(LAYERS - 1, 3), 1e-4);             // later residuals cannot reach back
    }

    @Test
    void noisingIsTheSameSweepWithTheRolesSwapped() {
        ActivationCache corrupt = MODEL.run(CORRUPT, Hooks.cacheAll()).cache();
        float cleanValue = ActivationPatching.baseline(MODEL, CLEAN, METRIC);
        float corruptValue = ActivationPatching.baseline(MODEL, CORRUPT, METRIC);
        Tensor grid = ActivationPatching.streamByPosition(MODEL, CLEAN, corrupt, ActivationPatching.Stream.RESID_PRE,
                Metrics.normalized(METRIC, cleanValue, corruptValue));
        assertEquals(0f, grid.get(0, DIFF), 1e-4);
        assertEquals(1f, grid.get(1, 0), 1e-4);
    }

    @Test
    void aHeadThatWritesNothingHasNoEffectAndEveryHeadPointSweeps() {
        Gpt2Model m = model(true);
        ActivationCache clean = m.run(CLEAN, Hooks.cacheAll()).cache();
        float corruptValue = ActivationPatching.baseline(m, CORRUPT, METRIC);
        Tensor out = ActivationPatching.heads(m, CORRUPT, clean, ActivationPatching.HeadPoint.OUTPUT, METRIC);
        assertEquals(corruptValue, out.get(1, 2), 1e-6);
        for (ActivationPatching.HeadPoint p : ActivationPatching.HeadPoint.values()) {
            Tensor g = ActivationPatching.headsByPosition(m, CORRUPT, clean, p, METRIC);
            assertArrayEquals(new int[] {LAYERS, HEADS, 5}, g.shape());
            assertEquals(corruptValue, g.get(0, 1, 0), 1e-6, p + " before the differing token changes nothing");
        }
        // queries at the differing position in layer 0 are the only layer-0 query difference
        Tensor q = ActivationPatching.headsByPosition(m, CORRUPT, clean, ActivationPatching.HeadPoint.QUERY, METRIC);
        assertEquals(corruptValue, q.get(0, 0, 3), 1e-6);
    }

    @Test
    void metricsAgreeWithHandComputations() {
        Tensor logits = MODEL.forward(CLEAN);
        double diff = 0, logp = 0, prob = 0;
        for (int b = 0; b < 2; b++) {
            Tensor last = logits.select(0, b).select(0, 4);
            int c = new int[] {3, 5}[b], w = new int[] {17, 23}[b];
            diff += last.get(c) - last.get(w);
            double z = 0;
            for (int v = 0; v < VOCAB; v++) z += Math.exp(last.get(v));
            logp += last.get(c) - Math.log(z);
            prob += Math.exp(last.get(c)) / z;
        }
        assertEquals(diff / 2, METRIC.apply(logits).item(), 1e-5);
        assertEquals(logp / 2, Metrics.logProb(new int[] {3, 5}).apply(logits).item(), 1e-5);
        assertEquals(prob / 2, Metrics.prob(new int[] {3, 5}).apply(logits).item(), 1e-6);
        assertEquals(0, Metrics.klFromClean(logits).apply(logits).item(), 1e-6);
        assertEquals(true, Metrics.klFromClean(logits).apply(MODEL.forward(CORRUPT)).item() > 0);
        assertThrows(IllegalArgumentException.class, () -> Metrics.normalized(METRIC, 1f, 1f));
        TokenBatch shorter = TokenBatch.of(new int[] {4, 9, 35}, new int[] {8, 1, 11});
        ActivationCache clean = MODEL.run(CLEAN, Hooks.cacheAll()).cache();
        assertThrows(IllegalArgumentException.class, () -> ActivationPatching.streamByPosition(MODEL, shorter, clean,
                ActivationPatching.Stream.RESID_PRE, METRIC));
    }
}
