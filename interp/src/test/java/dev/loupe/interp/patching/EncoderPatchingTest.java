package dev.loupe.interp.patching;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.bert.BertConfig;
import dev.loupe.transformer.bert.BertInput;
import dev.loupe.transformer.bert.BertModel;
import dev.loupe.transformer.bert.BertWeights;
import dev.loupe.transformer.bert.Pooling;
import dev.loupe.transformer.hooks.ActivationCache;
import dev.loupe.transformer.hooks.Hooks;
import org.junit.jupiter.api.Test;

/**
 * Encoder patching, held to what the architecture forces: the prompts differ in one token, so the first residual
 * at that token carries the whole difference (patching it restores the clean embedding exactly), positions where the
 * inputs agree carry none at layer 0, and a run's own activations change nothing.
 */
class EncoderPatchingTest {
    private static final BertConfig CONFIG = BertConfig.bert(2, 16, 4, 32, 50, 16);
    private static final BertModel MODEL = model();

    /** Larger weights than the initialisation's, so that positions mix strongly. */
    private static BertModel model() {
        Rng rng = new Rng(4);
        BertWeights w = BertWeights.init(CONFIG, rng);
        for (Tensor t : w.leaves()) if (t.rank() == 2) t.copyFrom(Tensor.randn(rng, t.shape()).mul(0.3f));
        return new BertModel(CONFIG, w, new Pooling(Pooling.Mode.MEAN, true));
    }
    private static final BertInput CLEAN = BertInput.ofIds(new int[] {1, 7, 9, 23, 41, 2});
    private static final BertInput CORRUPT = BertInput.ofIds(new int[] {1, 7, 30, 23, 41, 2});

    @Test
    void patchingFindsTheDifferingTokenAndRestoresTheCleanEmbedding() {
        Tensor clean = MODEL.embed(CLEAN);
        EncoderPatching.Metric distance = e -> EncoderMetrics.cosineDistance(e, clean).mean();
        float corrupted = EncoderPatching.baseline(MODEL, CORRUPT, distance);
        assertTrue(corrupted > 1e-4, "the prompts must embed differently: " + corrupted);
        ActivationCache source = MODEL.run(CLEAN, Hooks.cacheAll()).cache();
        Tensor grid = EncoderPatching.streamByPosition(MODEL, CORRUPT, source, ActivationPatching.Stream.RESID_PRE,
                distance);
        assertArrayEquals(new int[] {2, 6}, grid.shape());
        assertEquals(0, grid.get(0, 2), 1e-6);                          // the differing token, layer 0
        for (int p : new int[] {0, 1, 3, 4, 5}) assertEquals(corrupted, grid.get(0, p), 1e-6);
        // by layer 1 every position carries the difference (attention looks both ways): one position cannot undo it
        assertTrue(grid.get(1, 2) > 1e-6, "layer 1 at the differing token: " + grid.get(1, 2));

        Tensor heads = EncoderPatching.heads(MODEL, CORRUPT, source, ActivationPatching.HeadPoint.OUTPUT, distance);
        assertArrayEquals(new int[] {2, 4}, heads.shape());
        ActivationCache own = MODEL.run(CORRUPT, Hooks.cacheAll()).cache();
        for (float v : EncoderPatching.heads(MODEL, CORRUPT, own, ActivationPatching.HeadPoint.PATTERN, distance)
                .toFloatArray()) {
            assertEquals(corrupted, v, 1e-6); // the run's own patterns change nothing
        }
    }
}
