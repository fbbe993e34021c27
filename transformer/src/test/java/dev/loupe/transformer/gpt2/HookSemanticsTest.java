package dev.loupe.transformer.gpt2;

import static dev.loupe.transformer.gpt2.TestModels.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.hooks.ActivationCache;
import dev.loupe.transformer.hooks.HookNames;
import dev.loupe.transformer.hooks.Hooks;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** What the values at hook points mean, each held to a computation that does not go through the hook. */
class HookSemanticsTest {
    private static Gpt2Model model(String kind) {
        return kind.equals("neo") ? TestModels.neo(31) : TestModels.gpt2(31);
    }

    private static final int[] TOKENS = TestModels.tokens(new Rng(32), 10);

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "neo"})
    void theForwardPassMatchesTheDoublePrecisionReference(String kind) {
        Gpt2Model m = model(kind);
        assertClose(RefGpt2.flat(new RefGpt2(m).logits(TOKENS)), m.forward(TokenBatch.of(TOKENS)), 1e-4, "logits");
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "neo"})
    void zeroAblatingAHeadThroughHookZEqualsZeroingItsRowsOfWO(String kind) {
        Gpt2Model m = model(kind);
        int dh = m.config().dHead();
        for (int[] lh : new int[][] {{0, 1}, {1, 2}}) {
            int layer = lh[0], head = lh[1];
            float[] keep = {1, 1, 1, 1};
            keep[head] = 0;
            Tensor ablated = m.run(TokenBatch.of(TOKENS), Hooks.builder()
                    .forward(HookNames.attn(layer, "hook_z"), (z, n) -> z.mul(Tensor.of(keep, 1, 1, 4, 1))).build())
                    .logits();

            Gpt2Weights w = TestModels.copy(m.weights());
            w.blocks().get(layer).wO().narrow(0, head * dh, dh).fill(0f); // rows (head, d_head) of [d_model, d_model]
            Tensor expected = new Gpt2Model(m.config(), w).forward(TokenBatch.of(TOKENS));
            assertClose(expected, ablated, 1e-5, "layer " + layer + " head " + head);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "neo"})
    void patchingOnePositionOfResidPreEqualsAHandWrittenContinuation(String kind) {
        Gpt2Model m = model(kind);
        int[] corrupt = TOKENS.clone();
        corrupt[3] = (corrupt[3] + 5) % TestModels.VOCAB;
        corrupt[6] = (corrupt[6] + 7) % TestModels.VOCAB;
        String point = HookNames.residPre(1);
        int pos = 6;
        Tensor clean = m.run(TokenBatch.of(TOKENS), Hooks.builder().cache(n -> n.equals(point)).build()).cache()
                .get(point);
        Tensor mask = Tensor.zeros(1, TOKENS.length, 1);
        mask.narrow(1, pos, 1).fill(1f);
        Gpt2Model.Output patched = m.run(TokenBatch.of(corrupt), Hooks.builder().cache(n -> n.equals(point))
                .forward(point, (x, n) -> Tensor.where(mask, clean, x)).build());

        double[][] resid = RefGpt2.rows(m.run(TokenBatch.of(corrupt), Hooks.cacheAll()).cache().get(point), 0);
        resid[pos] = RefGpt2.rows(clean, 0)[pos];
        assertClose(RefGpt2.flat(resid), patched.cache().get(point), 1e-6, "patched resid_pre");
        assertClose(RefGpt2.flat(new RefGpt2(m).continueFrom(1, resid)), patched.logits(), 1e-4, "patched logits");
        // Positions before the patch cannot see it (causal): their logits are the corrupted run's.
        Tensor corruptLogits = m.forward(TokenBatch.of(corrupt));
        assertClose(corruptLogits.narrow(1, 0, pos), patched.logits().narrow(1, 0, pos), 1e-5, "earlier positions");
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "neo"})
    void headResultsSumWithBOToAttnOut(String kind) {
        Gpt2Model m = model(kind);
        TokenBatch batch = TokenBatch.of(TOKENS);
        ActivationCache plain = m.run(batch, Hooks.cacheAll()).cache(); // attn_out from the fused projection
        Gpt2Model.Output withResult = m.run(batch, Hooks.builder().cache(n -> n.endsWith("hook_result")).build());
        assertClose(m.forward(batch), withResult.logits(), 1e-5, "computing hook_result changes no logit");
        for (int l = 0; l < m.config().nLayers(); l++) {
            Tensor result = withResult.cache().get(HookNames.attn(l, "hook_result"));
            assertEquals(List.of(1, TOKENS.length, TestModels.HEADS, TestModels.D), shape(result));
            Tensor sum = result.sum(2).add(m.weights().blocks().get(l).bO());
            assertClose(plain.get(HookNames.attnOut(l)), sum, 1e-5, "Σ_h result + b_O, layer " + l);
            // Each head's result is its own z through its own rows of W_O, in double.
            double[] z = RefGpt2.d(plain.get("z", l)), wo = RefGpt2.d(m.weights().wO(l)), res = RefGpt2.d(result);
            int p = TOKENS.length, h = TestModels.HEADS, dh = m.config().dHead(), d = TestModels.D;
            for (int i = 0; i < p; i++) {
                for (int head = 0; head < h; head++) {
                    for (int j = 0; j < d; j++) {
                        double v = 0;
                        for (int e = 0; e < dh; e++) v += z[(i * h + head) * dh + e] * wo[(head * dh + e) * d + j];
                        assertEquals(v, res[(i * h + head) * d + j], 1e-5, "result[" + i + ", " + head + ", " + j + "]");
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "neo"})
    void splitQkvInputsLeaveLogitsUnchangedAndActPerHead(String kind) {
        Gpt2Model m = model(kind);
        TokenBatch batch = TokenBatch.of(TOKENS);
        ActivationCache plain = m.run(batch, Hooks.cacheAll()).cache();
        Gpt2Model.Output split = m.run(batch, Hooks.builder().cache(n -> n.endsWith("hook_q_input")
                || n.endsWith("attn.hook_z") || n.endsWith("hook_resid_pre")).build());
        assertClose(m.forward(batch), split.logits(), 1e-5, "logits with hook_q_input selected");
        for (int l = 0; l < m.config().nLayers(); l++) {
            Tensor qIn = split.cache().get("q_input", l);
            Tensor expected = split.cache().get("resid_pre", l).unsqueeze(2).expand(1, TOKENS.length, TestModels.HEADS,
                    TestModels.D);
            assertClose(expected, qIn, 0, "q_input is resid_pre per head");
            assertClose(plain.get("z", l), split.cache().get("z", l), 1e-5, "z, layer " + l);
        }

        // Editing head 2's value input changes head 2's z only.
        String vIn = HookNames.block(1, "hook_v_input");
        Tensor delta = Tensor.zeros(1, 1, TestModels.HEADS, TestModels.D);
        delta.select(2, 2).copyFrom(Tensor.randn(new Rng(33), TestModels.D));
        Tensor z = m.run(batch, Hooks.builder().cache(n -> n.equals(HookNames.attn(1, "hook_z")))
                .forward(vIn, (x, n) -> x.add(delta)).build()).cache().get("z", 1);
        Tensor z0 = plain.get("z", 1);
        for (int head = 0; head < TestModels.HEADS; head++) {
            float change = z.select(2, head).sub(z0.select(2, head)).abs().max(-1, false).max(-1, false).item();
            if (head == 2) assertTrue(change > 1e-2, "head 2's z moves: " + change);
            else assertEquals(0f, change, 1e-6f, "head " + head + "'s z stays");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "neo"})
    void mlpInIsResidMidAndAHookOnItReachesTheMlpAlone(String kind) {
        Gpt2Model m = model(kind);
        TokenBatch batch = TokenBatch.of(TOKENS);
        ActivationCache plain = m.run(batch, Hooks.cacheAll()).cache();
        assertTrue(!plain.has(HookNames.mlpIn(0)), "optional: cacheAll skips it");
        Gpt2Model.Output cached = m.run(batch, Hooks.builder().cache(n -> n.endsWith("hook_mlp_in")
                || n.endsWith("hook_resid_mid")).build());
        assertClose(m.forward(batch), cached.logits(), 0, "computing hook_mlp_in changes no logit");
        for (int l = 0; l < m.config().nLayers(); l++) {
            assertClose(cached.cache().get("resid_mid", l), cached.cache().get("mlp_in", l), 0, "mlp_in, layer " + l);
        }

        // Replace layer 0's MLP input: resid_mid stays, resid_post = resid_mid + MLP(new input), in double precision.
        Tensor mid = cached.cache().get("resid_mid", 0);
        Tensor replacement = mid.add(Tensor.randn(new Rng(36), mid.shape()));
        Gpt2Model.Output hooked = m.run(batch, Hooks.builder().cacheAll()
                .forward(HookNames.mlpIn(0), (x, n) -> replacement).build());
        assertClose(mid, hooked.cache().get("resid_mid", 0), 0, "resid_mid is upstream of the hook");
        assertClose(plain.get("z", 0), hooked.cache().get("z", 0), 0, "attention is untouched");
        RefGpt2 ref = new RefGpt2(m);
        double[][] post = RefGpt2.add(RefGpt2.rows(mid, 0), ref.mlp(0, RefGpt2.rows(replacement, 0)));
        assertClose(RefGpt2.flat(post), hooked.cache().get("resid_post", 0), 1e-4, "resid_post = mid + MLP(input)");
        assertClose(RefGpt2.flat(ref.continueFrom(1, post)), hooked.logits(), 1e-4, "logits");
        float change = hooked.logits().sub(m.forward(batch)).abs().reshape(-1).max(0, false).item();
        assertTrue(change > 1e-2, "the replacement matters: " + change);
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "neo"})
    void patternRowsSumToOneAndAreCausal(String kind) {
        Gpt2Model m = model(kind);
        ActivationCache cache = m.run(TokenBatch.of(TOKENS, TestModels.tokens(new Rng(34), 10)), Hooks.cacheAll())
                .cache();
        int p = TOKENS.length;
        for (int l = 0; l < m.config().nLayers(); l++) {
            Tensor pattern = cache.get("pattern", l);
            assertEquals(List.of(2, TestModels.HEADS, p, p), shape(pattern));
            assertClose(Tensor.ones(2, TestModels.HEADS, p), pattern.sum(-1), 1e-5, "row sums, layer " + l);
            for (int b = 0; b < 2; b++) for (int h = 0; h < TestModels.HEADS; h++) {
                for (int q = 0; q < p; q++) for (int k = q + 1; k < p; k++) {
                    assertEquals(0f, pattern.get(b, h, q, k), "future key " + k + " from query " + q);
                }
            }
        }
    }

    @org.junit.jupiter.api.Test
    void neoLocalLayersNeverAttendBeyondTheWindow() {
        int window = 3;
        Gpt2Model m = TestModels.neo(35, window);
        ActivationCache cache = m.run(TokenBatch.of(TOKENS), Hooks.cacheAll()).cache();
        Tensor global = cache.get("pattern", 0), local = cache.get("pattern", 1);
        double beyondGlobal = 0;
        for (int h = 0; h < TestModels.HEADS; h++) {
            for (int q = 0; q < TOKENS.length; q++) {
                for (int k = 0; k <= q; k++) {
                    if (q - k >= window) {
                        assertEquals(0f, local.get(0, h, q, k), "local layer, query " + q + " key " + k);
                        beyondGlobal += global.get(0, h, q, k);
                    } else {
                        assertTrue(local.get(0, h, q, k) > 0, "inside the window, query " + q + " key " + k);
                    }
                }
            }
        }
        assertTrue(beyondGlobal > 1, "the global layer does attend beyond the window: " + beyondGlobal);
    }

    private static List<Integer> shape(Tensor t) {
        List<Integer> s = new ArrayList<>();
        for (int d : t.shape()) s.add(d);
        return s;
    }
}
