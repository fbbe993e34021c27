package dev.loupe.transformer.gpt2;

import static dev.loupe.transformer.gpt2.TestModels.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.hooks.ForwardHook;
import dev.loupe.transformer.hooks.HookNames;
import dev.loupe.transformer.hooks.Hooks;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Padded batches and KV-cache continuation give each sequence the logits it gets alone, in one full pass. */
class PaddingAndKvCacheTest {
    private static final int PAD = 0;
    private final Rng rng = new Rng(51);
    private final List<int[]> rows = List.of(TestModels.tokens(rng, 5), TestModels.tokens(rng, 9),
            TestModels.tokens(rng, 2));

    private static Gpt2Model model(String kind) {
        return kind.equals("neo") ? TestModels.neo(52) : TestModels.gpt2(52); // Neo: window 3 < every length here
    }

    /** Logits [1, n, vocab] of {@code tokens} alone. */
    private static Tensor alone(Gpt2Model m, int[] tokens) {
        return m.forward(TokenBatch.of(tokens));
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "neo"})
    void leftPaddingGivesEachRowItsLogitsAlone(String kind) {
        Gpt2Model m = model(kind);
        Tensor logits = m.forward(TokenBatch.leftPadded(rows, PAD));
        for (int b = 0; b < rows.size(); b++) {
            int n = rows.get(b).length, pad = 9 - n;
            assertClose(alone(m, rows.get(b)), logits.narrow(0, b, 1).narrow(1, pad, n), 1e-5, "row " + b);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "neo"})
    void rightPaddingGivesEachRowItsLogitsAlone(String kind) {
        Gpt2Model m = model(kind);
        Tensor logits = m.forward(TokenBatch.rightPadded(rows, PAD));
        for (int b = 0; b < rows.size(); b++) {
            int n = rows.get(b).length;
            assertClose(alone(m, rows.get(b)), logits.narrow(0, b, 1).narrow(1, 0, n), 1e-5, "row " + b);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "neo"})
    void aPrefixThenTokenByTokenEqualsOneFullForward(String kind) {
        Gpt2Model m = model(kind);
        int[] seq = TestModels.tokens(new Rng(53), 10);
        Tensor full = alone(m, seq);
        KvCache cache = m.newKvCache();
        Tensor prefix = m.run(TokenBatch.of(java.util.Arrays.copyOf(seq, 4)), Hooks.none(), cache).logits();
        assertClose(full.narrow(1, 0, 4), prefix, 1e-5, "prefix");
        for (int i = 4; i < seq.length; i++) {
            Tensor step = m.run(TokenBatch.of(new int[] {seq[i]}), Hooks.none(), cache).logits();
            assertClose(full.narrow(1, i, 1), step, 1e-5, "position " + i);
            assertEquals(i + 1, cache.length());
        }
    }

    /**
     * 3 prompt tokens then 61 single steps up to a context of 64: the cache's storage grows (3 → 6 → 12 → 24 → 48 →
     * 64) five times, and every step's logits, and at the end the cached keys and values, match one full pass.
     */
    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "neo"})
    void aLongTokenByTokenRunWhoseCacheGrowsSeveralTimesEqualsOneFullForward(String kind) {
        int ctx = 64;
        Gpt2Model m = kind.equals("neo") ? TestModels.neo(59, 3, ctx) : TestModels.gpt2(59, ctx);
        int[] seq = TestModels.tokens(new Rng(60), ctx);
        Gpt2Model.Output full = m.run(TokenBatch.of(seq), Hooks.cacheAll());
        KvCache cache = m.newKvCache();
        Tensor prefix = m.run(TokenBatch.of(java.util.Arrays.copyOf(seq, 3)), Hooks.none(), cache).logits();
        assertClose(full.logits().narrow(1, 0, 3), prefix, 1e-5, "prefix");
        for (int i = 3; i < ctx; i++) {
            Tensor step = m.run(TokenBatch.of(new int[] {seq[i]}), Hooks.none(), cache).logits();
            assertClose(full.logits().narrow(1, i, 1), step, 1e-5, "position " + i);
            assertEquals(i + 1, cache.length());
        }
        for (int l = 0; l < TestModels.LAYERS; l++) {
            assertClose(full.cache().get(HookNames.attn(l, "hook_k")), cache.keys(l), 1e-5, "keys of layer " + l);
            assertClose(full.cache().get(HookNames.attn(l, "hook_v")), cache.values(l), 1e-5, "values of layer " + l);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "neo"})
    void leftPaddedGenerationWithACacheEqualsEachRowAlone(String kind) {
        Gpt2Model m = model(kind);
        List<int[]> prompts = List.of(TestModels.tokens(rng, 2), TestModels.tokens(rng, 5));
        int[][] continuation = {TestModels.tokens(rng, 4), TestModels.tokens(rng, 4)};
        TokenBatch batch = TokenBatch.leftPadded(prompts, PAD);
        KvCache cache = m.newKvCache();
        m.run(batch, Hooks.none(), cache);
        for (int s = 0; s < 4; s++) {
            int[] next = {continuation[0][s], continuation[1][s]};
            batch = batch.append(next);
            Tensor step = m.run(batch.tail(1), Hooks.none(), cache).logits();
            for (int b = 0; b < 2; b++) {
                int[] whole = new int[prompts.get(b).length + s + 1];
                System.arraycopy(prompts.get(b), 0, whole, 0, prompts.get(b).length);
                System.arraycopy(continuation[b], 0, whole, prompts.get(b).length, s + 1);
                Tensor expected = alone(m, whole).narrow(1, whole.length - 1, 1);
                assertClose(expected, step.narrow(0, b, 1), 1e-5, "row " + b + " step " + s);
            }
        }
    }

    @org.junit.jupiter.api.Test
    void localLayersWithACacheNeverAttendBeyondTheWindow() {
        int window = 3;
        Gpt2Model m = TestModels.neo(54, window);
        KvCache cache = m.newKvCache();
        int[] seq = TestModels.tokens(new Rng(55), 8);
        m.run(TokenBatch.of(java.util.Arrays.copyOf(seq, 6)), Hooks.none(), cache);
        Tensor pattern = m.run(TokenBatch.of(new int[] {seq[6], seq[7]}), Hooks.cacheAll(), cache).cache()
                .get("pattern", 1); // [1, head, 2 new, 8 keys]
        assertEquals(8, pattern.size(3));
        for (int h = 0; h < TestModels.HEADS; h++) {
            for (int i = 0; i < 2; i++) {
                int q = 6 + i;
                for (int k = 0; k < 8; k++) {
                    boolean visible = k <= q && q - k < window;
                    if (visible) assertTrue(pattern.get(0, h, i, k) > 0, "query " + q + " key " + k);
                    else assertEquals(0f, pattern.get(0, h, i, k), "query " + q + " key " + k);
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"bad token", "throwing hook"})
    void aFailedCallLeavesTheCacheUnchanged(String failure) {
        Gpt2Model m = TestModels.gpt2(56);
        int[] seq = TestModels.tokens(new Rng(57), 7);
        Tensor full = alone(m, seq);
        KvCache cache = m.newKvCache();
        m.run(TokenBatch.of(java.util.Arrays.copyOf(seq, 5)), Hooks.none(), cache);
        Tensor keys = cache.keys(1);
        if (failure.equals("bad token")) {
            assertThrows(IllegalArgumentException.class,
                    () -> m.run(TokenBatch.of(new int[] {seq[5], TestModels.VOCAB}), Hooks.none(), cache));
        } else {
            Hooks throwing = Hooks.builder().forward(HookNames.residPost(1), (a, n) -> {
                throw new IllegalStateException("hook failed");
            }).build();
            assertThrows(IllegalStateException.class,
                    () -> m.run(TokenBatch.of(new int[] {seq[5], seq[6]}), throwing, cache));
        }
        assertEquals(5, cache.length(), "length");
        assertEquals(keys, cache.keys(1), "the same key tensor");
        Tensor rest = m.run(TokenBatch.of(new int[] {seq[5], seq[6]}), Hooks.none(), cache).logits();
        assertClose(full.narrow(1, 5, 2), rest, 1e-5, "continuation after the failed call");
    }

    @org.junit.jupiter.api.Test
    void tooLongSequencesAndOutOfVocabularyIdsFailClearly() {
        Gpt2Model m = TestModels.gpt2(58);
        IllegalArgumentException tooLong = assertThrows(IllegalArgumentException.class,
                () -> m.forward(TokenBatch.of(new int[TestModels.CTX + 1])));
        assertTrue(tooLong.getMessage().contains("13") && tooLong.getMessage().contains("context length 12"),
                tooLong.getMessage());

        KvCache cache = m.newKvCache();
        m.run(TokenBatch.of(new int[10]), Hooks.none(), cache);
        IllegalArgumentException cached = assertThrows(IllegalArgumentException.class,
                () -> m.run(TokenBatch.of(new int[3]), Hooks.none(), cache));
        assertTrue(cached.getMessage().contains("10 cached + 3 new"), cached.getMessage());

        for (int bad : new int[] {TestModels.VOCAB, -1}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> m.forward(TokenBatch.of(new int[] {1, 2, bad})));
            assertTrue(e.getMessage().contains("token id " + bad) && e.getMessage().contains("[0, 2]")
                    && e.getMessage().contains("0..22"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class,
                () -> m.run(TokenBatch.of(new int[] {1, 2}), Hooks.builder()
                        .forward("hook_embedd", ForwardHook.scale(1f)).build()));
    }
}
