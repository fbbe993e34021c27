package dev.loupe.interp.cache;

import dev.loupe.interp.RandomGpt2;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Config;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.gpt2.Gpt2Weights;
import dev.loupe.transformer.hooks.ActivationCache;
import dev.loupe.transformer.hooks.HookNames;
import dev.loupe.transformer.hooks.Hooks;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The decompositions are held to the identities that define them, against the model's own forward pass. */
class CacheAnalysisTest {
    private static final int LAYERS = 3, D = 32, HEADS = 4, VOCAB = 50;

    /** A random model whose LayerNorms and biases are not the identity, so that every term matters. */
    static Gpt2Model model() {
        Gpt2Config c = Gpt2Config.gpt2(LAYERS, D, HEADS, VOCAB, 16);
        Gpt2Weights w = RandomGpt2.weights(c, 7, 0.15f);
        return new Gpt2Model(c, w);
    }

    private static final Gpt2Model MODEL = model();
    private static final TokenBatch BATCH = TokenBatch.of(new int[] {1, 7, 3, 9, 22, 4}, new int[] {5, 5, 0, 49, 12, 8});
    private static final Gpt2Model.Output RUN = MODEL.run(BATCH, Hooks.cacheAll());
    private static final ActivationCache CACHE = RUN.cache();
    private static final CacheAnalysis A = new CacheAnalysis(MODEL, CACHE);

    static void assertClose(Tensor expected, Tensor actual, double tol) {
        assertEquals(List.of(expected.shape().length), List.of(actual.shape().length));
        float[] e = expected.contiguous().toFloatArray(), a = actual.contiguous().toFloatArray();
        assertEquals(e.length, a.length);
        double scale = 1;
        for (float v : e) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < e.length; i++) assertEquals(e[i], a[i], tol * scale, "element " + i);
    }

    @Test
    void decomposedResidualSumsToTheResidualEachLayerReads() {
        for (int l = 0; l <= LAYERS; l++) {
            Tensor expected = l == LAYERS ? CACHE.get(HookNames.residPost(LAYERS - 1)) : CACHE.get(HookNames.residPre(l));
            assertClose(expected, A.decomposeResid(l, false, false).stack().sum(0), 1e-5);
        }
        assertClose(CACHE.get(HookNames.residMid(1)), A.decomposeResid(1, true, false).stack().sum(0), 1e-5);
        assertEquals(List.of("embed", "pos_embed", "0_attn_out", "0_mlp_out", "1_attn_out"),
                A.decomposeResid(1, true, false).labels());
    }

    @Test
    void fullDecompositionSumsToTheFinalResidualWithMlpsOrNeurons() {
        Tensor fin = CACHE.get(HookNames.residPost(LAYERS - 1));
        assertClose(fin, A.fullDecomposition(false, false).stack().sum(0), 1e-5);
        LabeledStack neurons = A.fullDecomposition(true, false);
        assertClose(fin, neurons.stack().sum(0), 1e-5);
        assertEquals(2 + LAYERS * HEADS + LAYERS * 4 * D + 1, neurons.size());
    }

    @Test
    void headsPlusBiasGiveAttentionOutAndNeuronsPlusBiasGiveMlpOut() {
        LabeledStack heads = A.stackHeadResults(LAYERS, false);
        LabeledStack neurons = A.stackNeuronResults(LAYERS, null, false);
        for (int l = 0; l < LAYERS; l++) {
            Tensor attn = heads.stack().narrow(0, l * HEADS, HEADS).sum(0).add(MODEL.weights().blocks().get(l).bO());
            assertClose(CACHE.get(HookNames.attnOut(l)), attn, 1e-5);
            int m = 4 * D;
            Tensor mlp = neurons.stack().narrow(0, l * m, m).sum(0).add(MODEL.weights().blocks().get(l).bOut());
            assertClose(CACHE.get(HookNames.mlpOut(l)), mlp, 1e-5);
        }
        assertEquals("L2H3", heads.labels().get(2 * HEADS + 3));
        assertEquals(List.of("L0N5", "L1N5"), A.stackNeuronResults(2, new int[] {5}, false).labels());
    }

    @Test
    void accumulatedResidHoldsTheCachedPointsWithSearchableLabels() {
        LabeledStack s = A.accumulatedResid(LAYERS, true, false);
        assertEquals(List.of("0_pre", "0_mid", "1_pre", "1_mid", "2_pre", "2_mid", "final_post"), s.labels());
        assertClose(CACHE.get(HookNames.residMid(1)), s.component("1_mid"), 0);
    }

    @Test
    void finalLayerNormOnTheStackReproducesTheNormalizedResidualLessItsBias() {
        LabeledStack s = A.accumulatedResid(LAYERS, false, true);
        Tensor expected = CACHE.get(HookNames.LN_FINAL_NORMALIZED).sub(MODEL.weights().lnFinalB());
        assertClose(expected, s.component("final_post"), 1e-5);
    }

    @Test
    void directLogitAttributionsAddUpToTheLogitDifference() {
        int[] correct = {3, 17}, wrong = {8, 2};
        Tensor attrs = A.logitAttrs(A.fullDecomposition(false, true), correct, wrong); // [component, batch, pos]
        // The constant share: the final LayerNorm's bias read through the same directions.
        Tensor dir = A.residDirections(correct).sub(A.residDirections(wrong));      // [batch, d_model]
        Tensor constant = dir.matmul(MODEL.weights().lnFinalB()).unsqueeze(1);       // [batch, 1]
        Tensor total = attrs.sum(0).add(constant);
        Tensor logits = RUN.logits();
        for (int b = 0; b < 2; b++) {
            for (int p = 0; p < BATCH.length(); p++) {
                float diff = logits.get(b, p, correct[b]) - logits.get(b, p, wrong[b]);
                assertEquals(diff, total.get(b, p), 1e-4 * Math.max(1, Math.abs(diff)), "row " + b + " pos " + p);
            }
        }
    }

    @Test
    void missingPointsAndBadArgumentsFailWithTheirNames() {
        CacheAnalysis onlyResid = new CacheAnalysis(MODEL, MODEL.run(BATCH, Hooks.builder().cache(".*resid_pre").build())
                .cache());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> onlyResid.decomposeResid(1, false, false));
        assertEquals(true, e.getMessage().contains("hook_embed"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> A.accumulatedResid(LAYERS + 1, false, false));
        assertThrows(IllegalArgumentException.class, () -> A.residDirections(VOCAB));
    }

    @Test
    void directionAttributionIsTheDotProductOfEachComponentWithTheDirection() {
        LabeledStack s = A.decomposeResid(2, false, false);
        Tensor dir = Tensor.randn(new Rng(4), D);
        Tensor attrs = A.directionAttrs(s, dir);                                      // [component, batch, pos]
        Tensor comp = s.component("1_attn_out");                                      // [batch, pos, d_model]
        double dot = 0;
        for (int i = 0; i < D; i++) dot += (double) comp.get(1, 3, i) * dir.get(i);
        assertEquals(dot, attrs.get(s.labels().indexOf("1_attn_out"), 1, 3), 1e-5);
        assertThrows(IllegalArgumentException.class, () -> A.directionAttrs(s, Tensor.zeros(D + 1)));
    }
}
