package dev.loupe.transformer.gpt2;

import static dev.loupe.transformer.gpt2.ParityFixture.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.hooks.ActivationCache;
import dev.loupe.transformer.hooks.Hooks;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * One model family held to its torch fixture: logits, loss, the gradient of every parameter, and every hook point
 * (optional ones included) with its gradient, for loss = mean next-token cross-entropy.
 *
 * <p>One documented difference from the fixture: with {@code hook_q_input/k_input/v_input} computed, LayerNorm 1 runs
 * once per (q|k|v, head) copy of the residual, so {@code ln1.hook_scale} and {@code ln1.hook_normalized} are
 * [batch, pos, 3, head, 1 | d_model] rather than [batch, pos, 1 | d_model]. Every copy must equal the reference, and
 * the copies' gradients must sum to the reference gradient.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class HookParityTest {
    private static final Set<String> NOT_HOOKS = Set.of("tokens", "logits", "loss", "logits_f16", "logits_bf16");

    final Map<String, Tensor> expected = ParityFixture.expected(family());
    final TokenBatch batch = ParityFixture.tokens(expected);

    /** The fixture folder under {@code fixtures/}: {@code gpt2} or {@code gptneo}. */
    abstract String family();

    /**
     * The reference gradient of our parameter {@code ourName} (a {@link Gpt2Weights#named()} name, in our [in, out]
     * layout), built from the fixture's {@code grad:<file name>} entries; adds the file names it used to
     * {@code used}.
     */
    abstract Tensor referenceGrad(String ourName, Set<String> used);

    Path folder() {
        return ParityFixture.path(family() + "/model");
    }

    /** Hook names the fixture holds. */
    Set<String> referenceHooks() {
        return expected.keySet().stream().filter(n -> !n.startsWith("grad:") && !NOT_HOOKS.contains(n))
                .collect(Collectors.toCollection(TreeSet::new));
    }

    /** File parameter names whose gradients the fixture holds. */
    Set<String> referenceParameters() {
        Set<String> hooks = referenceHooks();
        return expected.keySet().stream().filter(n -> n.startsWith("grad:")).map(n -> n.substring(5))
                .filter(n -> !hooks.contains(n)).collect(Collectors.toCollection(TreeSet::new));
    }

    Tensor ref(String name) {
        Tensor t = expected.get(name);
        assertNotNull(t, "the fixture has no '" + name + "'");
        return t;
    }

    @AfterAll
    void report() {
        System.out.printf("%s parity: largest relative error so far %.3g%n", getClass().getSimpleName(),
                ParityFixture.worst());
    }

    @Test
    void logitsLossAndEveryParameterGradientMatchTorch() {
        ParityFixture.Traced t = ParityFixture.trace(folder(), batch, Hooks.none());
        assertClose("logits", t.output().logits(), ref("logits"));
        assertClose("loss", t.loss().reshape(1), ref("loss"));
        assertParameterGradients(t.model());
    }

    @Test
    void everyHookPointAndItsGradientMatchTorch() {
        // Everything but the split q/k/v inputs, so that ln1 runs once on [batch, pos, d_model] as in the fixture.
        ParityFixture.Traced t = ParityFixture.trace(folder(), batch,
                Hooks.builder().cache(n -> !n.endsWith("_input")).cacheGradients().build());
        ActivationCache cache = t.output().cache();
        Set<String> want = referenceHooks().stream().filter(n -> !n.endsWith("_input"))
                .collect(Collectors.toCollection(TreeSet::new));
        assertEquals(want, new TreeSet<>(cache.names()), "cached hook points");
        assertEquals(want, new TreeSet<>(cache.gradNames()), "hook points with a cached gradient");
        for (String name : want) {
            assertClose(name, cache.get(name), ref(name));
            assertClose("grad " + name, cache.grad(name), ref("grad:" + name));
        }
        assertClose("logits", t.output().logits(), ref("logits"));
        assertParameterGradients(t.model()); // through hook_result and the explicit LayerNorm
    }

    @Test
    void cachingEveryPointIncludingSplitQkvInputsMatchesTorch() {
        ParityFixture.Traced t = ParityFixture.trace(folder(), batch,
                Hooks.builder().cache(n -> true).cacheGradients().build());
        ActivationCache cache = t.output().cache();
        assertEquals(referenceHooks(), new TreeSet<>(cache.names()), "cached hook points");
        assertEquals(referenceHooks(), new TreeSet<>(cache.gradNames()), "hook points with a cached gradient");
        assertEquals(referenceHooks(), new TreeSet<>(t.model().hookPoints()), "the model's declared hook points");
        for (String name : referenceHooks()) {
            Tensor ours = cache.get(name), grad = cache.grad(name);
            Tensor r = ref(name), g = ref("grad:" + name);
            if (name.contains(".ln1.")) { // [b, p, 3, h, x] copies of the reference [b, p, x]
                int[] s = ours.shape();
                r = r.unsqueeze(2).unsqueeze(3).expand(s);
                grad = grad.sum(new int[] {2, 3}, false);
            }
            assertClose(name, ours, r);
            assertClose("grad " + name, grad, g);
        }
        assertClose("logits", t.output().logits(), ref("logits"));
        assertParameterGradients(t.model());
    }

    private void assertParameterGradients(Gpt2Model model) {
        Set<String> used = new HashSet<>();
        for (Map.Entry<String, Tensor> e : model.weights().named().entrySet()) {
            Tensor g = e.getValue().grad();
            assertNotNull(g, e.getKey() + " received no gradient");
            assertClose("grad " + e.getKey(), g, referenceGrad(e.getKey(), used));
        }
        assertEquals(referenceParameters(), new TreeSet<>(used), "file parameters whose gradient was checked");
    }
}
