package dev.loupe.transformer.gpt2;

import static dev.loupe.transformer.gpt2.TestModels.assertCloseRel;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.loupe.tensor.Autograd;
import dev.loupe.tensor.Device;
import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.hooks.ActivationCache;
import dev.loupe.transformer.hooks.BackwardHook;
import dev.loupe.transformer.hooks.ForwardHook;
import dev.loupe.transformer.hooks.Hooks;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongFunction;

/**
 * One GPT-2 workout run on any device, so that a device can be held to the CPU: a left-padded batch (padding masks and
 * zeroed pattern rows), every point cached with its gradient, forward hooks (a scale, a device steering vector on an
 * optional per-head input, {@code hook_result}), backward hooks (a scale and a stop), a cross-entropy loss with ignored
 * padding targets, backward to every parameter; then a KV-cached continuation of one token without gradients.
 * Everything that comes back is checked to live on the device; {@link #compare} then holds it to the CPU run.
 */
final class DeviceScenario {
    private static final List<int[]> ROWS = List.of(new int[] {3, 7, 1, 9, 4, 2}, new int[] {5, 11, 8});
    private static final int[] NEXT = {6, 10};

    /** What a run produced, every tensor still on its device. */
    record Snapshot(Tensor logits, Tensor loss, Map<String, Tensor> acts, Map<String, Tensor> grads,
                    Map<String, Tensor> paramGrads, Tensor continued) {
    }

    private DeviceScenario() {
    }

    /** Builds the model {@code model.apply(seed)} (a fresh one per call), moves it to {@code device} and runs it. */
    static Snapshot run(LongFunction<Gpt2Model> model, long seed, Device device) {
        Gpt2Model m = model.apply(seed).to(device);
        assertEquals(device, m.device());
        m.weights().requireGrad();
        TokenBatch batch = TokenBatch.leftPadded(ROWS, 0);
        int d = m.config().dModel();
        Tensor steer = Tensor.randn(new Rng(seed + 5), d).mul(0.3f).to(device);
        Hooks hooks = Hooks.builder().cacheAll().cacheGradients()
                .forward("blocks.0.attn.hook_z", ForwardHook.scale(0.7f))
                .forward("blocks.1.hook_v_input", ForwardHook.add(steer))
                .forward("blocks.0.attn.hook_result", (a, n) -> a.maskedFill(a.gt(1.5f), 1.5f))
                .backward("blocks.1.hook_resid_mid", (g, n) -> g.mul(2f))
                .backward("blocks.0.attn.hook_q", BackwardHook.stop())
                .build();
        Gpt2Model.Output out = m.run(batch, hooks);
        Tensor logits = out.logits();
        int b = batch.batch(), p = batch.length(), vocab = m.config().dVocab();
        // Next-token targets; padding positions (and each row's last) are ignored (-1).
        int[] targets = new int[b * p];
        for (int r = 0; r < b; r++) {
            for (int i = 0; i < p; i++) {
                boolean real = batch.mask(r, i) == 1 && i + 1 < p;
                targets[r * p + i] = real ? batch.token(r, i + 1) : -1;
            }
        }
        Tensor loss = logits.reshape(b * p, vocab).crossEntropy(Tensor.indices(targets).to(device));
        loss.backward();

        ActivationCache cache = out.cache();
        Map<String, Tensor> acts = new LinkedHashMap<>(), grads = new LinkedHashMap<>();
        for (String n : cache.names()) acts.put(n, cache.get(n));
        for (String n : cache.gradNames()) grads.put(n, cache.grad(n));
        Map<String, Tensor> paramGrads = new LinkedHashMap<>();
        m.weights().namedLeaves().forEach((n, t) -> paramGrads.put(n, t.grad()));

        Tensor continued;
        try (var off = Autograd.noGrad()) {
            KvCache kv = m.newKvCache();
            m.run(batch, Hooks.none(), kv);
            continued = m.run(TokenBatch.of(new int[] {NEXT[0]}, new int[] {NEXT[1]}), Hooks.none(), kv).logits();
        }
        Snapshot s = new Snapshot(logits.detach(), loss.detach(), acts, grads, paramGrads, continued);
        assertOn(device, s);
        return s;
    }

    private static void assertOn(Device device, Snapshot s) {
        assertEquals(device, s.logits().device(), "logits");
        assertEquals(device, s.continued().device(), "KV-cached logits");
        s.acts().forEach((n, t) -> assertEquals(device, t.device(), "cached " + n));
        s.grads().forEach((n, t) -> assertEquals(device, t.device(), "cached gradient of " + n));
        s.paramGrads().forEach((n, t) -> {
            assertNotNull(t, "gradient of parameter " + n);
            assertEquals(device, t.device(), "gradient of parameter " + n);
        });
    }

    /**
     * Holds {@code got} to {@code want}: the same names, shapes and values within {@code rtol} times the largest
     * finite |value| of each reference tensor ({@link TestModels#assertCloseRel}; non-finite values exactly).
     */
    static void compare(Snapshot want, Snapshot got, double rtol) {
        assertCloseRel(want.logits(), got.logits(), rtol, "logits");
        assertCloseRel(want.loss(), got.loss(), rtol, "loss");
        assertCloseRel(want.continued(), got.continued(), rtol, "KV-cached continuation logits");
        assertEquals(want.acts().keySet(), got.acts().keySet(), "cached points");
        assertEquals(want.grads().keySet(), got.grads().keySet(), "cached gradients");
        assertEquals(want.paramGrads().keySet(), got.paramGrads().keySet(), "parameters");
        assertFalse(want.acts().isEmpty() || want.grads().isEmpty(), "the scenario caches activations and gradients");
        want.acts().forEach((n, t) -> assertCloseRel(t, got.acts().get(n), rtol, n));
        want.grads().forEach((n, t) -> assertCloseRel(t, got.grads().get(n), rtol, "gradient of " + n));
        want.paramGrads().forEach((n, t) -> assertCloseRel(t, got.paramGrads().get(n), rtol, "gradient of " + n));
    }
}
