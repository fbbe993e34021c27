package dev.loupe.transformer.gpt2;

import static dev.loupe.transformer.gpt2.TestModels.assertClose;
import static dev.loupe.transformer.gpt2.TestModels.assertSame;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.hooks.ActivationCache;
import dev.loupe.transformer.hooks.BackwardHook;
import dev.loupe.transformer.hooks.ForwardHook;
import dev.loupe.transformer.hooks.HookNames;
import dev.loupe.transformer.hooks.Hooks;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Hooks live for one call: nothing a call registers survives it, whether it returns or throws. */
class HookScopingTest {
    private final Rng rng = new Rng(11);
    private final TokenBatch batch = TokenBatch.of(TestModels.tokens(rng, 7), TestModels.tokens(rng, 7));
    private final Tensor r = Tensor.randn(new Rng(12), 2, 7, TestModels.VOCAB);

    /** Σ r ⊙ log_softmax(logits): a scalar that depends on every logit. */
    private Tensor loss(Tensor logits) {
        return logits.logSoftmax(-1).mul(r).sum();
    }

    @Test
    void aPlainRunAfterHookedRunsGivesBitIdenticalLogits() {
        Gpt2Model model = TestModels.gpt2(1);
        Tensor before = model.forward(batch);
        // A cached run exposes hook_scale, so it takes the unfused LayerNorm: compare it with its own kind.
        Tensor beforeCached = model.run(batch, Hooks.cacheAll()).logits();
        Hooks hooks = Hooks.builder().cacheAll().cacheGradients()
                .forward(HookNames.attn(0, "hook_z"), ForwardHook.scale(0f))
                .forward(n -> n.endsWith("hook_resid_mid"), ForwardHook.add(Tensor.full(0.5f, TestModels.D)))
                .backward(n -> true, (g, n) -> g.mul(3f))
                .build();
        Gpt2Model.Output hooked = model.run(batch, hooks);
        loss(hooked.logits()).backward();
        assertTrue(hooked.cache().gradNames().size() > 10, "the hooked run did a backward pass through its points");
        assertFalse(java.util.Arrays.equals(before.toFloatArray(), hooked.logits().toFloatArray()),
                "the hooks changed the hooked run's logits");

        assertSame(before, model.forward(batch), "plain logits after a hooked run");
        assertSame(beforeCached, model.run(batch, Hooks.cacheAll()).logits(), "cached-run logits after a hooked run");
    }

    @Test
    void aThrowingForwardHookPropagatesAndTheNextCallIsUnaffected() {
        Gpt2Model model = TestModels.gpt2(2);
        Tensor before = model.forward(batch);
        RuntimeException boom = new RuntimeException("boom");
        AtomicInteger calls = new AtomicInteger();
        Hooks throwing = Hooks.builder()
                .forward(n -> true, (a, n) -> {
                    calls.incrementAndGet();
                    return a.mul(2f);
                })
                .forward(HookNames.attn(1, "hook_pattern"), (a, n) -> {
                    throw boom;
                })
                .build();
        RuntimeException thrown = assertThrows(RuntimeException.class, () -> model.run(batch, throwing));
        assertEquals(boom, thrown, "the hook's own exception reaches the caller");

        int seen = calls.get();
        assertSame(before, model.forward(batch), "plain logits after a throwing call");
        assertEquals(seen, calls.get(), "the failed call's hooks do not run in the next call");
    }

    @Test
    void aThrowingBackwardHookPropagatesAndLeavesNothingBehind() {
        Gpt2Model model = TestModels.gpt2(3);
        IllegalStateException boom = new IllegalStateException("backward boom");
        Hooks throwing = Hooks.builder().backward(HookNames.residMid(1), (g, n) -> {
            throw boom;
        }).build();
        Tensor logits = model.run(batch, throwing).logits();
        assertEquals(boom, assertThrows(IllegalStateException.class, () -> loss(logits).backward()));

        // A fresh call with gradient caching: backward works, and its gradient at resid_mid equals a clean model's.
        Hooks caching = Hooks.builder().cache(n -> n.equals(HookNames.residMid(1))).cacheGradients().build();
        Gpt2Model.Output out = model.run(batch, caching);
        loss(out.logits()).backward();
        Gpt2Model.Output clean = TestModels.gpt2(3).run(batch, caching);
        loss(clean.logits()).backward();
        assertSame(clean.cache().grad(HookNames.residMid(1)), out.cache().grad(HookNames.residMid(1)),
                "gradient after a throwing backward hook");
    }

    @Test
    void noGradientHookIsLeftOnAnyWeight() {
        Gpt2Model model = TestModels.gpt2(4);
        model.weights().requireGrad();
        AtomicInteger hookCalls = new AtomicInteger();
        Hooks counting = Hooks.builder().cacheAll().cacheGradients()
                .backward(n -> true, (g, n) -> {
                    hookCalls.incrementAndGet();
                    return null;
                }).build();
        loss(model.run(batch, counting).logits()).backward();
        int afterHooked = hookCalls.get();
        assertEquals(model.hookPoints().size(), afterHooked, "the hooked run's backward hook ran once per point");
        List<Tensor> hookedGrads = grads(model);

        for (Tensor t : model.weights().leaves()) t.zeroGrad();
        loss(model.forward(batch)).backward();
        assertEquals(afterHooked, hookCalls.get(), "a plain backward pass through the weights runs no earlier hook");
        List<Tensor> plainGrads = grads(model);
        for (int i = 0; i < plainGrads.size(); i++) {
            // Not bit-identical: the hooked run's cache exposes hook_scale, so it takes the unfused LayerNorm.
            TestModels.assertCloseRel(hookedGrads.get(i), plainGrads.get(i), 1e-5, "weight gradient " + i);
        }
    }

    private static List<Tensor> grads(Gpt2Model model) {
        List<Tensor> out = new ArrayList<>();
        for (Tensor t : model.weights().leaves()) {
            assertNotNull(t.grad(), "every weight gets a gradient");
            out.add(t.grad());
        }
        return out;
    }

    @Test
    void aCachedActivationReusedByTwoRunsCarriesNoHookFromTheFirst() {
        Gpt2Model model = TestModels.gpt2(5);
        ActivationCache donor = model.run(TokenBatch.of(TestModels.tokens(new Rng(6), 7),
                TestModels.tokens(new Rng(7), 7)), Hooks.cacheAll()).cache();
        Tensor cached = donor.get(HookNames.residPre(1));
        // Once as the cached (detached) tensor, once as a leaf that itself requires a gradient (a steering vector).
        for (Tensor reused : List.of(cached, TestModels.copy(cached).setRequiresGrad(true))) {
            String point = HookNames.residPre(1);
            AtomicInteger first = new AtomicInteger(), second = new AtomicInteger();
            Tensor logits1 = model.run(batch, Hooks.builder().forward(point, (a, n) -> reused)
                    .backward(point, counter(first)).build()).logits();
            Tensor logits2 = model.run(batch, Hooks.builder().forward(point, (a, n) -> reused)
                    .backward(point, counter(second)).build()).logits();
            loss(logits2).backward();
            assertEquals(0, first.get(), "run 2's backward pass does not reach run 1's hook");
            assertEquals(1, second.get(), "run 2's own hook runs once");
            loss(logits1).backward();
            assertEquals(1, first.get(), "run 1's hook runs in run 1's backward pass");
            assertEquals(1, second.get(), "and run 2's does not");
        }
    }

    private static BackwardHook counter(AtomicInteger n) {
        return (g, name) -> {
            n.incrementAndGet();
            return null;
        };
    }
}
