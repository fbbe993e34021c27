package dev.loupe.transformer.gpt2;

import static dev.loupe.transformer.gpt2.TestModels.assertCloseRel;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.tensor.Autograd;
import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.hooks.ActivationCache;
import dev.loupe.transformer.hooks.BackwardHook;
import dev.loupe.transformer.hooks.HookNames;
import dev.loupe.transformer.hooks.Hooks;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Gradients at hook points: what backward hooks see, what stopping them does, what the cache stores. */
class BackwardHookTest {
    private static final int P = 6;
    private final int[] tokens = TestModels.tokens(new Rng(41), P);
    private final TokenBatch batch = TokenBatch.of(tokens);
    private final double[] r = RefGpt2.d(Tensor.randn(new Rng(42), 1, P, TestModels.VOCAB));

    /** Σ r ⊙ log_softmax(logits) over [1, P, vocab]. */
    private Tensor loss(Tensor logits) {
        return logits.logSoftmax(-1).mul(Tensor.of(toFloat(r), 1, P, TestModels.VOCAB)).sum();
    }

    /** The same loss in double from logits [pos][vocab]. */
    private double loss(double[][] logits) {
        double total = 0;
        for (int i = 0; i < logits.length; i++) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (double v : logits[i]) max = Math.max(max, v);
            for (double v : logits[i]) sum += Math.exp(v - max);
            double lse = max + Math.log(sum);
            for (int j = 0; j < logits[i].length; j++) total += r[i * logits[i].length + j] * (logits[i][j] - lse);
        }
        return total;
    }

    @ParameterizedTest
    @ValueSource(strings = {"hook_embed", "blocks.0.hook_resid_mid", "blocks.0.ln1.hook_scale",
            "blocks.1.attn.hook_pattern", "blocks.1.attn.hook_z", "blocks.1.attn.hook_result", "blocks.1.mlp.hook_post",
            "ln_final.hook_normalized"})
    void aBackwardHookSeesTheAutogradGradientOfTheLiveActivation(String point) {
        Gpt2Model model = TestModels.gpt2(43);
        Tensor[] seen = new Tensor[1];
        Tensor logits = model.run(batch, Hooks.builder().backward(point, (g, n) -> {
            seen[0] = g;
            return null;
        }).build()).logits();
        loss(logits).backward();
        assertNotNull(seen[0], "the hook ran");

        // The reference: a model whose weights require gradients records the graph by itself; a forward hook hands
        // out the live activation, and Autograd.grad differentiates the same loss with respect to it.
        Gpt2Model withGrad = new Gpt2Model(model.config(), TestModels.copy(model.weights()).requireGrad());
        Tensor[] live = new Tensor[1];
        Tensor logits2 = withGrad.run(batch, Hooks.builder().forward(point, (a, n) -> live[0] = a).build()).logits();
        Tensor expected = Autograd.grad(loss(logits2), null, List.of(live[0]), false).getFirst();
        assertCloseRel(expected, seen[0], 1e-5, "gradient at " + point);
    }

    /**
     * Gradients cached at hook_z and the residual stream only: attention runs as the fused differentiable op (no
     * scores or pattern), and gives the gradients of a run in which a backward hook on every hook_pattern makes the
     * composite scores and pattern real steps; on a left-padded batch too (padding queries' rows of z zeroed).
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void gradientsAtHookZRunFusedAndMatchAMaterializedPattern(boolean padded) {
        Gpt2Model model = TestModels.gpt2(45);
        TokenBatch in = padded ? TokenBatch.leftPadded(List.of(tokens, java.util.Arrays.copyOf(tokens, 3)), 0) : batch;
        Hooks fused = Hooks.builder().cache(".*(hook_z|hook_resid_pre)").cacheGradients().build();
        Hooks materialized = Hooks.builder().cache(".*(hook_z|hook_resid_pre)").cacheGradients()
                .backward(n -> n.endsWith("hook_pattern"), (g, n) -> null).build();
        String pattern = HookNames.act("pattern", 1);
        assertFalse(fused.open(model.hookPoints()).materializes(pattern), "a gradient at hook_z alone");
        assertTrue(materialized.open(model.hookPoints()).materializes(pattern), "a backward hook on the pattern");
        ActivationCache a = backwardThrough(model, in, fused), b = backwardThrough(model, in, materialized);
        for (String name : List.of(HookNames.act("z", 1), HookNames.act("z", 0), HookNames.residPre(0))) {
            assertCloseRel(b.get(name), a.get(name), 1e-6, "activation " + name);
            assertCloseRel(b.grad(name), a.grad(name), 1e-5, "gradient at " + name);
        }
    }

    private ActivationCache backwardThrough(Gpt2Model model, TokenBatch in, Hooks hooks) {
        var out = model.run(in, hooks);
        int rows = out.logits().size(0);
        Tensor w = Tensor.of(toFloat(r), 1, P, TestModels.VOCAB).expand(rows, P, TestModels.VOCAB);
        out.logits().logSoftmax(-1).mul(w).sum().backward();
        return out.cache();
    }

    @Test
    void stoppingTheGradientAtResidMidZeroesLayer0AttentionAndLeavesLaterLayers() {
        Gpt2Model model = TestModels.gpt2(44);
        model.weights().requireGrad();
        loss(model.forward(batch)).backward();
        Map<String, Tensor> baseline = new HashMap<>();
        for (var e : model.weights().named().entrySet()) baseline.put(e.getKey(), e.getValue().grad());
        for (Tensor t : model.weights().leaves()) t.zeroGrad();

        loss(model.run(batch, Hooks.builder().backward(HookNames.residMid(0), BackwardHook.stop()).build()).logits())
                .backward();
        List<String> cut = List.of("wpe.weight", "h.0.ln_1.weight", "h.0.ln_1.bias", "h.0.attn.c_attn.weight",
                "h.0.attn.c_attn.bias", "h.0.attn.c_proj.weight", "h.0.attn.c_proj.bias");
        for (var e : model.weights().named().entrySet()) {
            String name = e.getKey();
            Tensor g = e.getValue().grad();
            if (cut.contains(name)) {
                if (g != null) assertEquals(0f, g.abs().max(-1, false).sum().item(), name + " gets no gradient");
            } else if (name.startsWith("h.0.mlp") || name.startsWith("h.0.ln_2") || name.startsWith("h.1.")
                    || name.startsWith("ln_f")) {
                assertCloseRel(baseline.get(name), g, 1e-6, name + " keeps its gradient");
            } else {
                assertEquals("wte.weight", name, "only the tied embedding is left: it still gets the unembedding's share");
            }
        }
        assertTrue(baseline.get("h.0.attn.c_attn.weight").abs().sum().item() > 1e-3, "the baseline gradient is not 0");
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1})
    void cachedResidualGradientsMatchDoublePrecisionFiniteDifferences(int layer) {
        Gpt2Model model = TestModels.gpt2(45);
        String point = HookNames.residPre(layer);
        Gpt2Model.Output out = model.run(batch, Hooks.builder().cache(n -> n.equals(point)).cacheGradients().build());
        loss(out.logits()).backward();
        ActivationCache cache = out.cache();
        double[][] x = RefGpt2.rows(cache.get(point), 0);
        float[] grad = cache.grad(point).toFloatArray();
        RefGpt2 ref = new RefGpt2(model);
        double eps = 1e-4, max = 0;
        for (float g : grad) max = Math.max(max, Math.abs(g));
        Rng pick = new Rng(46 + layer);
        for (int trial = 0; trial < 12; trial++) {
            int i = pick.nextInt(P), j = pick.nextInt(TestModels.D);
            double[][] plus = RefGpt2.copy(x), minus = RefGpt2.copy(x);
            plus[i][j] += eps;
            minus[i][j] -= eps;
            double fd = (loss(ref.continueFrom(layer, plus)) - loss(ref.continueFrom(layer, minus))) / (2 * eps);
            assertEquals(fd, grad[i * TestModels.D + j], 1e-4 * max, point + " [" + i + ", " + j + "]");
        }
    }

    @Test
    void cachedGradientAtZMatchesFiniteDifferencesThroughAReplaceHook() {
        Gpt2Model model = TestModels.gpt2(47);
        String point = HookNames.attn(0, "hook_z");
        Gpt2Model.Output out = model.run(batch, Hooks.builder().cache(n -> n.equals(point)).cacheGradients().build());
        loss(out.logits()).backward();
        Tensor z = out.cache().get(point);
        float[] grad = out.cache().grad(point).toFloatArray();
        double eps = 1e-2, max = 0;
        for (float g : grad) max = Math.max(max, Math.abs(g));
        Rng pick = new Rng(48);
        for (int trial = 0; trial < 8; trial++) {
            int flat = pick.nextInt(z.numel());
            double[] l = new double[2];
            for (int s = 0; s < 2; s++) {
                float[] edited = z.toFloatArray();
                edited[flat] += (float) (s == 0 ? eps : -eps);
                Tensor replacement = Tensor.of(edited, z.shape());
                Tensor logits = model.run(batch, Hooks.builder().forward(point, (a, n) -> replacement).build()).logits();
                l[s] = loss(RefGpt2.rows(logits, 0));
            }
            assertEquals((l[0] - l[1]) / (2 * eps), grad[flat], 2e-3 * max + 1e-3, point + " element " + flat);
        }
    }

    private static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }
}
