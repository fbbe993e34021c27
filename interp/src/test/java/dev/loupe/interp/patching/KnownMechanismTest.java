package dev.loupe.interp.patching;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.interp.cache.CacheAnalysis;
import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Config;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.gpt2.Gpt2Weights;
import dev.loupe.transformer.hooks.ActivationCache;
import dev.loupe.transformer.hooks.Hooks;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A model whose mechanism is known by construction: head L0H0 attends from each position to the previous one and
 * copies that token into an output subspace the unembedding reads, so the model predicts the previous token; every
 * other head has small random weights. Patching and direct logit attribution must both single out L0H0.
 *
 * <p>Residual layout (d_model = 2·V + C): token one-hot in [0, V), position one-hot in [V, V + C), output slot in
 * [V + C, 2·V + C). The LayerNorms are the identity's shape (weight 1, bias 0): with exactly two ones in the
 * residual they only shift and scale it, the same at every position.
 */
class KnownMechanismTest {
    private static final int V = 8, C = 8, D = 2 * V + C, HEADS = 2, DH = D / HEADS, LAYERS = 2;
    private static final float SHARP = 2.5f, READ = 5f;

    static Gpt2Model previousTokenModel() {
        Gpt2Config c = Gpt2Config.gpt2(LAYERS, D, HEADS, V, C).attentionOnly();
        Rng rng = new Rng(3);
        Tensor wte = Tensor.zeros(V, D), wpe = Tensor.zeros(C, D), wU = Tensor.zeros(D, V);
        for (int t = 0; t < V; t++) {
            set(wte, 1, t, t);
            set(wU, READ, V + C + t, t);
        }
        for (int i = 0; i < C; i++) set(wpe, 1, i, V + i);
        List<Gpt2Weights.Block> blocks = new ArrayList<>();
        for (int l = 0; l < LAYERS; l++) {
            Tensor wQkv = Tensor.randn(rng, D, 3 * D).mul(0.1f), wO = Tensor.randn(rng, D, D).mul(0.1f);
            if (l == 0) {
                wQkv.narrow(1, 0, DH).fill(0);          // head 0's query
                wQkv.narrow(1, D, DH).fill(0);          // head 0's key
                wQkv.narrow(1, 2 * D, DH).fill(0);      // head 0's value
                wO.narrow(0, 0, DH).fill(0);            // head 0's output
                for (int i = 0; i < C; i++) {
                    set(wQkv, SHARP, V + i, i);                          // query of position i: dim i
                    if (i + 1 < DH) set(wQkv, SHARP, V + i, D + i + 1); // key of position i: dim i + 1
                }
                for (int t = 0; t < V; t++) {
                    set(wQkv, 1, t, 2 * D + t);   // value: the token
                    set(wO, 1, t, V + C + t);     // written to the output slot
                }
            }
            blocks.add(new Gpt2Weights.Block(Tensor.ones(D), Tensor.zeros(D), wQkv, Tensor.zeros(3 * D), wO,
                    Tensor.zeros(D), null, null, null, null, null, null));
        }
        return new Gpt2Model(c, new Gpt2Weights(HEADS, wte, wpe, blocks, Tensor.ones(D), Tensor.zeros(D), wU, null));
    }

    private static void set(Tensor t, float v, int i, int j) {
        t.narrow(0, i, 1).narrow(1, j, 1).fill(v);
    }

    private static final Gpt2Model MODEL = previousTokenModel();
    private static final int[] CLEAN = {1, 4, 6, 2, 7, 3}, CORRUPT = {1, 4, 6, 2, 5, 3};
    private static final int LAST = CLEAN.length - 1;

    @Test
    void theConstructionPredictsThePreviousToken() {
        Tensor logits = MODEL.forward(TokenBatch.of(CLEAN));
        for (int i = 1; i < CLEAN.length; i++) {
            assertEquals(CLEAN[i - 1], (int) logits.select(0, 0).select(0, i).argmax(-1, false).item(), "position " + i);
        }
    }

    @Test
    void patchingHeadOutputsFindsThePreviousTokenHead() {
        TokenBatch clean = TokenBatch.of(CLEAN), corrupt = TokenBatch.of(CORRUPT);
        Metric diff = Metrics.logitDiff(new int[] {CLEAN[LAST - 1]}, new int[] {CORRUPT[LAST - 1]});
        float cleanValue = ActivationPatching.baseline(MODEL, clean, diff);
        float corruptValue = ActivationPatching.baseline(MODEL, corrupt, diff);
        assertTrue(cleanValue > 5 && corruptValue < -5, cleanValue + " / " + corruptValue);
        ActivationCache cache = MODEL.run(clean, Hooks.cacheAll()).cache();
        Metric score = Metrics.normalized(diff, cleanValue, corruptValue);
        for (Tensor grid : List.of(ActivationPatching.heads(MODEL, corrupt, cache, ActivationPatching.HeadPoint.OUTPUT,
                score), IncrementalPatching.heads(MODEL, corrupt, cache, ActivationPatching.HeadPoint.OUTPUT, score))) {
            assertEquals(1, grid.get(0, 0), 0.1, "L0H0 restores the clean answer");
            for (int[] other : new int[][] {{0, 1}, {1, 0}, {1, 1}}) {
                assertEquals(0, grid.get(other[0], other[1]), 0.1, "L" + other[0] + "H" + other[1]);
            }
        }
        // by position: only L0H0 at the last position matters
        Tensor byPos = IncrementalPatching.headsByPosition(MODEL, corrupt, cache, ActivationPatching.HeadPoint.OUTPUT,
                score);
        assertEquals(1, byPos.get(0, 0, LAST), 0.1);
        for (int p = 0; p < LAST; p++) assertEquals(0, byPos.get(0, 0, p), 0.1, "position " + p);
    }

    @Test
    void directLogitAttributionFindsThePreviousTokenHead() {
        TokenBatch clean = TokenBatch.of(CLEAN);
        Gpt2Model.Output run = MODEL.run(clean, Hooks.cacheAll());
        CacheAnalysis a = new CacheAnalysis(MODEL, run.cache());
        int[] answer = {CLEAN[LAST - 1]}, wrong = {CORRUPT[LAST - 1]};
        Tensor attrs = a.logitAttrs(a.stackHeadResults(LAYERS, true), answer, wrong); // [head, batch, pos]
        float total = run.logits().get(0, LAST, answer[0]) - run.logits().get(0, LAST, wrong[0]);
        float prevHead = attrs.get(0, 0, LAST);
        assertEquals(total, prevHead, 0.1 * Math.abs(total), "L0H0 carries the logit difference");
        for (int h = 1; h < LAYERS * HEADS; h++) {
            assertTrue(Math.abs(attrs.get(h, 0, LAST)) < 0.1 * Math.abs(total), "head " + h + " " + attrs.get(h, 0, LAST));
        }
    }
}
