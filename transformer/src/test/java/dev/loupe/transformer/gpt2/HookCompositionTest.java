package dev.loupe.transformer.gpt2;

import static dev.loupe.transformer.gpt2.TestModels.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.hooks.BackwardHook;
import dev.loupe.transformer.hooks.ForwardHook;
import dev.loupe.transformer.hooks.HookNames;
import dev.loupe.transformer.hooks.Hooks;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How hooks on one or several points combine within one call, and how bad hooks fail. */
class HookCompositionTest {
    private final Gpt2Model model = TestModels.gpt2(21);
    private final int[] tokens = TestModels.tokens(new Rng(22), 6);
    private final TokenBatch batch = TokenBatch.of(tokens);
    private final Tensor delta = Tensor.randn(new Rng(23), TestModels.D);

    /** A hook that records the activation it sees and passes it on. */
    private static ForwardHook capture(List<Tensor> into) {
        return (a, n) -> {
            into.add(a.detach());
            return a;
        };
    }

    @Test
    void aHookOnEveryPointSeesEachPointOnceInForwardOrder() {
        List<String> seen = new ArrayList<>();
        model.run(batch, Hooks.builder().forward(n -> true, (a, n) -> {
            seen.add(n);
            return a;
        }).build());
        assertEquals(model.hookPoints(), seen, "a predicate selecting everything (optional points included)");

        List<String> zs = new ArrayList<>();
        model.run(batch, Hooks.builder().forward(n -> n.endsWith("attn.hook_z"), (a, n) -> {
            zs.add(n);
            return a;
        }).build());
        assertEquals(List.of(HookNames.attn(0, "hook_z"), HookNames.attn(1, "hook_z")), zs);
    }

    @Test
    void hooksOnOnePointRunInInsertionOrderEachSeeingThePreviousOutput() {
        String point = HookNames.residMid(0);
        List<Tensor> before = new ArrayList<>(), after = new ArrayList<>(), afterSwapped = new ArrayList<>();
        Tensor addThenScale = model.run(batch, Hooks.builder().forward(point, capture(before))
                .forward(point, ForwardHook.add(delta)).forward(point, ForwardHook.scale(2f))
                .forward(point, capture(after)).build()).logits();
        model.run(batch, Hooks.builder().forward(point, ForwardHook.scale(2f)).forward(point, ForwardHook.add(delta))
                .forward(point, capture(afterSwapped)).build());

        Tensor x = before.getFirst();
        assertClose(x.add(delta).mul(2f), after.getFirst(), 1e-6, "add then scale: 2(x + δ)");
        assertClose(x.mul(2f).add(delta), afterSwapped.getFirst(), 1e-6, "scale then add: 2x + δ");
        // The forward pass continues with the last hook's output: the same as replacing the point with it.
        Tensor replaced = model.run(batch, Hooks.builder()
                .forward(point, ForwardHook.replaceWith(x.add(delta).mul(2f))).build()).logits();
        assertClose(replaced, addThenScale, 1e-6, "logits continue from the composed value");
    }

    @Test
    void hooksOnSeveralPointsComposeWithinOnePass() {
        // Zero-ablate layer 0's z and steer layer 1's residual input; the reference applies the same two edits.
        Hooks both = Hooks.builder().cache(n -> n.equals(HookNames.residPre(1)))
                .forward(HookNames.attn(0, "hook_z"), ForwardHook.scale(0f))
                .forward(HookNames.residPre(1), ForwardHook.add(delta)).build();
        Gpt2Model.Output out = model.run(batch, both);

        // Reference: with z = 0, layer 0's attention writes only b_O, so resid_pre(1) is the embedding + b_O + MLP
        // output; take the model's resid_mid(0) with the ablation from a second run and finish in double.
        Gpt2Model.Output ablatedOnly = model.run(batch, Hooks.builder().cacheAll()
                .forward(HookNames.attn(0, "hook_z"), ForwardHook.scale(0f)).build());
        RefGpt2 ref = new RefGpt2(model);
        double[][] embed = ref.embed(tokens);
        double[] bO = RefGpt2.d(model.weights().blocks().get(0).bO());
        double[][] mid = RefGpt2.rows(ablatedOnly.cache().get(HookNames.residMid(0)), 0);
        for (int i = 0; i < tokens.length; i++) {
            for (int j = 0; j < TestModels.D; j++) {
                assertEquals(embed[i][j] + bO[j], mid[i][j], 1e-5, "ablated resid_mid(0) = embed + b_O");
            }
        }
        double[][] residPre1 = RefGpt2.rows(ablatedOnly.cache().get(HookNames.residPre(1)), 0);
        double[] d = RefGpt2.d(delta);
        for (double[] row : residPre1) for (int j = 0; j < row.length; j++) row[j] += d[j];
        assertClose(RefGpt2.flat(residPre1), out.cache().get(HookNames.residPre(1)), 1e-6, "cached after both hooks");
        assertClose(RefGpt2.flat(ref.continueFrom(1, residPre1)), out.logits(), 1e-4, "logits after both edits");
    }

    @Test
    void replaceAddAndScaleHelpersBroadcastTheirOperand() {
        String point = HookNames.residPost(0);
        List<Tensor> plain = new ArrayList<>(), replaced = new ArrayList<>(), added = new ArrayList<>(),
                scaled = new ArrayList<>();
        model.run(batch, Hooks.builder().forward(point, capture(plain)).build());
        model.run(batch, Hooks.builder().forward(point, ForwardHook.replaceWith(delta))
                .forward(point, capture(replaced)).build());
        model.run(batch, Hooks.builder().forward(point, ForwardHook.add(delta)).forward(point, capture(added)).build());
        model.run(batch, Hooks.builder().forward(point, ForwardHook.scale(-1.5f))
                .forward(point, capture(scaled)).build());

        float[] x = plain.getFirst().toFloatArray(), rep = replaced.getFirst().toFloatArray(),
                add = added.getFirst().toFloatArray(), sc = scaled.getFirst().toFloatArray();
        float[] dl = delta.toFloatArray();
        for (int i = 0; i < x.length; i++) {
            int j = i % TestModels.D;
            assertEquals(dl[j], rep[i], 0f, "replaceWith broadcasts a [d_model] vector to every position");
            assertEquals(x[i] + dl[j], add[i], 1e-6f, "add");
            assertEquals(-1.5f * x[i], sc[i], 1e-6f, "scale");
        }
    }

    @Test
    void aPredicateHookRunsAtEveryPointItAccepts() {
        List<String> seen = new ArrayList<>();
        List<String> grads = new ArrayList<>();
        Tensor logits = model.run(batch, Hooks.builder()
                .forward(n -> n.endsWith("hook_resid_post"), (a, n) -> {
                    seen.add(n);
                    return a;
                })
                .backward(n -> n.endsWith("hook_resid_pre"), (g, n) -> {
                    grads.add(n);
                    return null;
                }).build()).logits();
        logits.sum().backward();
        assertEquals(List.of(HookNames.residPost(0), HookNames.residPost(1)), seen);
        assertEquals(List.of(HookNames.residPre(1), HookNames.residPre(0)), grads, "backward hooks in reverse order");
    }

    @Test
    void aWrongShapeReplacementFailsNamingThePoint() {
        String point = HookNames.attn(1, "hook_z");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> model.run(batch,
                Hooks.builder().forward(point, (a, n) -> a.narrow(2, 0, 1)).build()));
        assertTrue(e.getMessage().contains(point) && e.getMessage().contains("[1, 6, 1, 4]"), e.getMessage());

        IllegalStateException nul = assertThrows(IllegalStateException.class, () -> model.run(batch,
                Hooks.builder().forward(point, (a, n) -> null).build()));
        assertTrue(nul.getMessage().contains(point), nul.getMessage());

        Tensor logits = model.run(batch, Hooks.builder().backward(point, (g, n) -> g.narrow(1, 0, 2)).build()).logits();
        IllegalStateException back = assertThrows(IllegalStateException.class, () -> logits.sum().backward());
        assertTrue(back.getMessage().contains(point), back.getMessage());
    }

    @Test
    void helperOperandsThatDoNotFitFailNamingThePoint() {
        String point = HookNames.residPost(1); // [1, 6, 16]
        for (var hook : List.of(ForwardHook.replaceWith(Tensor.zeros(5)), ForwardHook.add(Tensor.zeros(6, 5)),
                ForwardHook.replaceWith(Tensor.zeros(2, 6, 16)), ForwardHook.add(Tensor.zeros(2, 1, 16)))) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> model.run(batch, Hooks.builder().forward(point, hook).build()));
            assertTrue(e.getMessage().contains(point) && e.getMessage().contains("[1, 6, 16]"), e.getMessage());
        }
    }

    @Test
    void anUnknownExactNameFailsWithASuggestion() {
        IllegalArgumentException fwd = assertThrows(IllegalArgumentException.class, () -> model.run(batch,
                Hooks.builder().forward("blocks.1.attn.hook_zz", ForwardHook.scale(0f)).build()));
        assertTrue(fwd.getMessage().contains("'blocks.1.attn.hook_zz'")
                && fwd.getMessage().contains("did you mean 'blocks.1.attn.hook_z'"), fwd.getMessage());

        IllegalArgumentException back = assertThrows(IllegalArgumentException.class, () -> model.run(batch,
                Hooks.builder().backward("blocks.0.hook_resid_pree", BackwardHook.stop()).build()));
        assertTrue(back.getMessage().contains("did you mean 'blocks.0.hook_resid_pre'"), back.getMessage());

        // A layer the model does not have: named, whatever the suggestion.
        IllegalArgumentException layer = assertThrows(IllegalArgumentException.class, () -> model.run(batch,
                Hooks.builder().forward(HookNames.residPre(7), ForwardHook.scale(0f)).build()));
        assertTrue(layer.getMessage().contains("'blocks.7.hook_resid_pre'"), layer.getMessage());
    }
}
