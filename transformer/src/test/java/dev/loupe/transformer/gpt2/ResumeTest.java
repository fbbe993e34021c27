package dev.loupe.transformer.gpt2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.hooks.ActivationCache;
import dev.loupe.transformer.hooks.HookNames;
import dev.loupe.transformer.hooks.Hooks;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A pass resumed at block L over positions ≥ P, from the full run's own residual stream and cached keys/values, must
 * reproduce the full run there: causality says nothing it skips could have changed.
 */
class ResumeTest {
    private static final TokenBatch TOKENS = TokenBatch.of(new int[] {3, 17, 5, 9, 21, 0, 11});

    private static KvCache past(ActivationCache cache, int layers, int p, int copies) {
        List<Tensor> k = new ArrayList<>(), v = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            k.add(Tensor.cat(0, repeat(cache.get(HookNames.attn(l, "hook_k")).narrow(1, 0, p), copies)));
            v.add(Tensor.cat(0, repeat(cache.get(HookNames.attn(l, "hook_v")).narrow(1, 0, p), copies)));
        }
        return KvCache.of(k, v);
    }

    private static Tensor[] repeat(Tensor t, int n) {
        Tensor[] r = new Tensor[n];
        java.util.Arrays.fill(r, t);
        return r;
    }

    private static void resumesExactly(Gpt2Model m) {
        Gpt2Model.Output full = m.run(TOKENS, Hooks.cacheAll());
        int len = TOKENS.length(), layers = m.config().nLayers();
        for (int p = 0; p < len; p++) {
            // one row per start layer, all in one pass: rows join at their own layer
            List<Gpt2Model.Entry> entries = new ArrayList<>();
            for (int l = 0; l <= layers; l++) {
                String point = l < layers ? HookNames.residPre(l) : HookNames.residPost(layers - 1);
                entries.add(new Gpt2Model.Entry(l, full.cache().get(point).narrow(1, p, len - p)));
            }
            int rows = layers + 1;
            int[][] zeros = new int[rows][len - p];
            TokenBatch mask = TokenBatch.of(zeros);
            KvCache cache = p == 0 ? null : past(full.cache(), layers, p, rows);
            Tensor logits = m.resume(mask, Hooks.none(), cache, entries, Gpt2Model.Readout.LOGITS).logits();
            Tensor last = m.resume(mask, Hooks.none(), cache, entries, Gpt2Model.Readout.LAST_LOGITS).logits();
            Gpt2Model.Output normalized = m.resume(mask, Hooks.builder().cache("ln_final.hook_normalized").build(),
                    cache, entries, Gpt2Model.Readout.LAST_NORMALIZED);
            assertEquals(null, normalized.logits());
            Tensor unembedded = m.unembed(normalized.cache().get("ln_final.hook_normalized"));
            assertArrayEquals(new int[] {rows, len - p, m.config().dVocab()}, logits.shape());
            assertArrayEquals(new int[] {rows, 1, m.config().dVocab()}, last.shape());
            for (int r = 0; r < rows; r++) {
                for (int i = p; i < len; i++) {
                    for (int t = 0; t < m.config().dVocab(); t++) {
                        assertEquals(full.logits().get(0, i, t), logits.get(r, i - p, t), 1e-5,
                                "row " + r + " from " + p + " pos " + i);
                    }
                }
                for (int t = 0; t < m.config().dVocab(); t++) {
                    assertEquals(full.logits().get(0, len - 1, t), last.get(r, 0, t), 1e-5);
                    assertEquals(full.logits().get(0, len - 1, t), unembedded.get(r, 0, t), 1e-5);
                }
            }
        }
    }

    @Test
    void resumingFromAnyLayerAndPositionReproducesTheFullRunGpt2() {
        resumesExactly(TestModels.gpt2(3));
    }

    @Test
    void resumingWorksForLocalAttentionToo() {
        resumesExactly(TestModels.neo(4, 3));
    }

    @Test
    void hookPointsSeeTheRowsThatHaveJoined() {
        Gpt2Model m = TestModels.gpt2(3);
        ActivationCache full = m.run(TOKENS, Hooks.cacheAll()).cache();
        List<Gpt2Model.Entry> entries = List.of(new Gpt2Model.Entry(0, full.get(HookNames.residPre(0))),
                new Gpt2Model.Entry(1, full.get(HookNames.residPre(1))));
        TokenBatch mask = TokenBatch.of(new int[7], new int[7]);
        ActivationCache c = m.resume(mask, Hooks.cacheAll(), null, entries, Gpt2Model.Readout.LOGITS).cache();
        assertEquals(1, c.get(HookNames.attn(0, "hook_z")).size(0));
        assertEquals(2, c.get(HookNames.attn(1, "hook_z")).size(0));
        assertEquals(false, c.has(HookNames.EMBED));
        assertThrows(IllegalArgumentException.class, () -> m.resume(mask, Hooks.none(), null,
                List.of(entries.get(1), entries.get(0)), Gpt2Model.Readout.LOGITS));
        assertThrows(IllegalArgumentException.class, () -> m.resume(TokenBatch.of(new int[7]), Hooks.none(), null,
                entries, Gpt2Model.Readout.LOGITS));
    }
}
