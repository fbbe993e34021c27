package dev.loupe.interp.patching;

import dev.loupe.interp.RandomGpt2;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.loupe.interp.patching.ActivationPatching.HeadPoint;
import dev.loupe.interp.patching.ActivationPatching.Stream;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Config;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.gpt2.Gpt2Weights;
import dev.loupe.transformer.hooks.ActivationCache;
import dev.loupe.transformer.hooks.Hooks;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Incremental sweeps are held to the direct one-forward-per-patch sweeps of {@link ActivationPatching}: the same
 * values to 1e-5 on random models, in both directions, for every stream and head point, with a last-position metric
 * (one position unembedded) and with a metric that reads every position (logits joined from the target run).
 */
class IncrementalPatchingTest {
    private static final TokenBatch CLEAN = TokenBatch.of(new int[] {4, 9, 13, 21, 7, 30}, new int[] {8, 1, 30, 2, 6, 3});
    private static final TokenBatch CORRUPT = TokenBatch.of(new int[] {4, 9, 35, 21, 7, 30}, new int[] {8, 1, 11, 2, 6,
            3});
    private static final Metric LAST = Metrics.logitDiff(new int[] {3, 5}, new int[] {17, 23});
    /** Reads every position: the sum of one logit over positions. */
    private static final Metric ALL = logits -> logits.narrow(2, 7, 1).sum();

    private static Gpt2Model model(Gpt2Config c, long seed) {
        Gpt2Weights w = RandomGpt2.weights(c, seed, 0.3f);
        return new Gpt2Model(c, w);
    }

    private static final Gpt2Model GPT2 = model(Gpt2Config.gpt2(3, 16, 4, 40, 12), 5);

    private static void assertClose(Tensor expected, Tensor actual, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what);
        float[] e = expected.toFloatArray(), a = actual.toFloatArray();
        for (int i = 0; i < e.length; i++) {
            assertEquals(e[i], a[i], 1e-5 * Math.max(1, Math.abs(e[i])), what + " at " + i);
        }
    }

    private static void agree(Gpt2Model m, TokenBatch target, TokenBatch sourceTokens, Metric metric, String what) {
        ActivationCache source = m.run(sourceTokens, Hooks.cacheAll()).cache();
        for (Stream s : Stream.values()) {
            if (m.config().attnOnly() && (s == Stream.RESID_MID || s == Stream.MLP_OUT)) continue;
            assertClose(ActivationPatching.streamByPosition(m, target, source, s, metric),
                    IncrementalPatching.streamByPosition(m, target, source, s, metric), what + " " + s);
        }
        for (HeadPoint h : HeadPoint.values()) {
            assertClose(ActivationPatching.heads(m, target, source, h, metric),
                    IncrementalPatching.heads(m, target, source, h, metric), what + " heads " + h);
            assertClose(ActivationPatching.headsByPosition(m, target, source, h, metric),
                    IncrementalPatching.headsByPosition(m, target, source, h, metric), what + " heads by pos " + h);
        }
    }

    @Test
    void denoisingAgreesWithTheDirectSweeps() {
        agree(GPT2, CORRUPT, CLEAN, LAST, "denoise");
    }

    @Test
    void noisingAgreesWithTheDirectSweeps() {
        agree(GPT2, CLEAN, CORRUPT, LAST, "noise");
    }

    @Test
    void aMetricReadingEveryPositionGetsTheTargetsEarlierLogits() {
        ActivationCache source = GPT2.run(CLEAN, Hooks.cacheAll()).cache();
        for (Stream s : List.of(Stream.RESID_PRE, Stream.MLP_OUT)) {
            assertClose(ActivationPatching.streamByPosition(GPT2, CORRUPT, source, s, ALL),
                    IncrementalPatching.streamByPosition(GPT2, CORRUPT, source, s, ALL), "all positions " + s);
        }
        assertClose(ActivationPatching.headsByPosition(GPT2, CORRUPT, source, HeadPoint.KEY, ALL),
                IncrementalPatching.headsByPosition(GPT2, CORRUPT, source, HeadPoint.KEY, ALL), "keys");
    }

    @Test
    void attentionOnlyModelsAndSinglePromptsAgreeToo() {
        Gpt2Model attnOnly = model(Gpt2Config.gpt2(2, 16, 4, 40, 12).attentionOnly(), 6);
        agree(attnOnly, CORRUPT, CLEAN, LAST, "attention-only");
        TokenBatch one = TokenBatch.of(new int[] {4, 9, 13, 21, 7, 30});
        TokenBatch other = TokenBatch.of(new int[] {4, 2, 13, 21, 19, 30});
        agree(GPT2, one, other, Metrics.logProb(new int[] {3}), "one prompt");
    }

    @Test
    void paddedBatchesAreRefused() {
        ActivationCache source = GPT2.run(CLEAN, Hooks.cacheAll()).cache();
        TokenBatch padded = TokenBatch.leftPadded(List.of(new int[] {4, 9, 13, 21, 7, 30}, new int[] {1, 2, 6, 3, 5}), 0);
        assertThrows(IllegalArgumentException.class,
                () -> IncrementalPatching.streamByPosition(GPT2, padded, source, Stream.RESID_PRE, LAST));
    }
}
