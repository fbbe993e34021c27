package dev.loupe.transformer.gpt2;

import static dev.loupe.transformer.gpt2.TestModels.assertClose;
import static dev.loupe.transformer.gpt2.TestModels.assertCloseRel;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.WeightProcessing.Options;
import dev.loupe.transformer.hooks.ActivationCache;
import dev.loupe.transformer.hooks.HookNames;
import dev.loupe.transformer.hooks.Hooks;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Weight processing changes the weights, never the model's predictions. */
class WeightProcessingTest {
    private static final TokenBatch BATCH = TokenBatch.of(TestModels.tokens(new Rng(61), 8),
            TestModels.tokens(new Rng(62), 8));

    static Gpt2Model model(String kind) {
        return switch (kind) {
            case "gpt2" -> TestModels.gpt2(63);
            case "neo" -> TestModels.neo(63); // no q/k/v bias: folding must create one
            case "attn-only" -> {
                Gpt2Config c = Gpt2Config.gpt2(2, TestModels.D, TestModels.HEADS, TestModels.VOCAB, TestModels.CTX)
                        .attentionOnly();
                yield new Gpt2Model(c, TestModels.randomize(Gpt2Weights.init(c, new Rng(63)), new Rng(64), true));
            }
            default -> throw new IllegalArgumentException(kind);
        };
    }

    static Stream<Arguments> everyStepAloneAndAll() {
        Map<String, Options> steps = Map.of(
                "foldLayerNorm", new Options(true, false, false, false),
                "centerWritingWeights", new Options(false, true, false, false),
                "centerUnembed", new Options(false, false, true, false),
                "foldValueBiases", new Options(false, false, false, true),
                "all", Options.defaults());
        return Stream.of("gpt2", "neo", "attn-only")
                .flatMap(kind -> steps.entrySet().stream().map(e -> Arguments.of(kind, e.getKey(), e.getValue())));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("everyStepAloneAndAll")
    void logProbabilitiesAreUnchanged(String kind, String step, Options options) {
        Gpt2Model m = model(kind);
        Gpt2Model processed = WeightProcessing.process(m, options);
        assertClose(m.forward(BATCH).logSoftmax(-1), processed.forward(BATCH).logSoftmax(-1), 1e-4, kind + " " + step);
        // Left padding: real positions keep their log-probabilities.
        TokenBatch padded = TokenBatch.leftPadded(List.of(new int[] {3, 1, 4}, new int[] {1, 5, 9, 2, 6}), 0);
        assertClose(m.forward(padded).logSoftmax(-1).narrow(1, 2, 3),
                processed.forward(padded).logSoftmax(-1).narrow(1, 2, 3), 1e-4, kind + " " + step + ", padded");
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "neo"})
    void centeringTheUnembedShiftsEachPositionsLogitsByTheirMean(String kind) {
        Gpt2Model m = model(kind);
        Tensor logits = m.forward(BATCH);
        Tensor centered = WeightProcessing.centerUnembed(m).forward(BATCH);
        assertClose(logits.sub(logits.mean(-1, true)), centered, 1e-4, "logits minus their mean over the vocabulary");
        assertClose(Tensor.zeros(2, 8, 1), centered.mean(-1, true), 1e-5, "mean over the vocabulary");
        assertTrue(logits.mean(-1, false).abs().max(-1, false).max(-1, false).item() > 1e-2,
                "the original logits' mean is not already 0");
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "neo", "attn-only"})
    void foldedLayerNormsOutputTheUnfoldedModelsNormalizedInput(String kind) {
        Gpt2Model m = model(kind);
        Gpt2Model folded = WeightProcessing.foldLayerNorm(m);
        assertEquals(Gpt2Config.Normalization.LN_PRE, folded.config().normalization());
        assertNull(folded.weights().lnFinalW());
        assertNull(folded.weights().lnFinalB());
        for (Gpt2Weights.Block b : folded.weights().blocks()) {
            assertNull(b.ln1W());
            assertNull(b.ln1B());
            assertNull(b.ln2W());
            assertNull(b.ln2B());
            assertNotNull(b.bQkv(), "folding ln1's bias creates b_QKV");
            assertMeanFreeRows(b.wQkv(), "W_QKV");
            if (b.wIn() != null) assertMeanFreeRows(b.wIn(), "W_in");
        }
        assertFalse(folded.weights().tied(), "W_U is untied");
        assertMeanFreeRows(folded.weights().wU(), "W_U");

        ActivationCache before = m.run(BATCH, Hooks.cacheAll()).cache(), after = folded.run(BATCH, Hooks.cacheAll()).cache();
        int layers = m.config().nLayers();
        for (int l = 0; l < layers; l++) {
            assertNormalized(before.get("resid_pre", l), after.get("normalized1", l), "ln1, layer " + l);
            if (!m.config().attnOnly()) {
                assertNormalized(before.get("resid_mid", l), after.get("normalized2", l), "ln2, layer " + l);
            }
        }
        assertNormalized(before.get("resid_post", layers - 1), after.get(HookNames.LN_FINAL_NORMALIZED), "ln_final");
        for (String point : List.of(HookNames.residPost(0), HookNames.attn(1, "hook_pattern"), HookNames.mlpOut(1))) {
            if (before.has(point)) assertClose(before.get(point), after.get(point), 1e-4, point + " is unchanged");
        }
    }

    /** The weights that read a folded LayerNorm are centered along d_model: each column's mean over rows is 0. */
    private static void assertMeanFreeRows(Tensor w, String what) {
        assertClose(Tensor.zeros(1, w.size(1)), w.mean(0, true), 1e-6, what + " mean over d_model");
    }

    /** actual = (x − mean) / √(var + ε) over the last dim of x, computed in double. */
    private static void assertNormalized(Tensor x, Tensor actual, String what) {
        int m = x.size(-1 + x.rank());
        double[] v = RefGpt2.d(x), expected = new double[v.length];
        for (int row = 0; row < v.length / m; row++) {
            double mean = 0, var = 0;
            for (int j = 0; j < m; j++) mean += v[row * m + j] / m;
            for (int j = 0; j < m; j++) var += Math.pow(v[row * m + j] - mean, 2) / m;
            for (int j = 0; j < m; j++) expected[row * m + j] = (v[row * m + j] - mean) / Math.sqrt(var + 1e-5);
        }
        assertClose(expected, actual, 1e-4, what);
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "neo"})
    void centeredWritersMakeTheResidualStreamMeanFree(String kind) {
        Gpt2Model m = model(kind);
        ActivationCache before = m.run(BATCH, Hooks.cacheAll()).cache();
        ActivationCache after = WeightProcessing.centerWritingWeights(m).run(BATCH, Hooks.cacheAll()).cache();
        for (String name : before.names()) {
            if (!name.contains("resid") && !name.endsWith("_out") && !name.contains("embed")) continue;
            Tensor x = before.get(name);
            assertClose(x.sub(x.mean(-1, true)), after.get(name), 1e-4, name);
        }
        assertClose(before.get("pattern", 1), after.get("pattern", 1), 1e-5, "attention is unchanged");
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "neo"})
    void foldingValueBiasesZeroesBVAndKeepsAttnOut(String kind) {
        Gpt2Model m = WeightProcessing.foldLayerNorm(model(kind)); // so that Neo has a value bias too
        Gpt2Model folded = WeightProcessing.foldValueBiases(m);
        ActivationCache before = m.run(BATCH, Hooks.cacheAll()).cache(), after = folded.run(BATCH, Hooks.cacheAll()).cache();
        for (int l = 0; l < m.config().nLayers(); l++) {
            assertTrue(m.weights().bQkv(l, 2).abs().sum().item() > 1e-2, "there was a value bias to fold");
            assertClose(Tensor.zeros(TestModels.HEADS, m.config().dHead()), folded.weights().bQkv(l, 2), 0, "b_V");
            assertClose(m.weights().bQkv(l, 0), folded.weights().bQkv(l, 0), 0, "b_Q stays");
            assertClose(m.weights().bQkv(l, 1), folded.weights().bQkv(l, 1), 0, "b_K stays");
            assertClose(before.get("attn_out", l), after.get("attn_out", l), 1e-5, "attn_out, layer " + l);
        }
    }

    @Test
    void processingNeverWritesTheInputAndSharesNoStorageWithIt() {
        Gpt2Model m = model("gpt2");
        Map<String, float[]> snapshot = new HashMap<>();
        m.weights().named().forEach((k, v) -> snapshot.put(k, v.toFloatArray()));
        Tensor logits = m.forward(BATCH);
        for (Options o : List.of(Options.defaults(), new Options(false, false, false, false),
                new Options(false, false, false, true))) {
            Gpt2Model p = WeightProcessing.process(m, o);
            assertNotSame(m.weights(), p.weights());
            for (Tensor a : p.weights().leaves()) {
                for (Tensor b : m.weights().leaves()) assertNotSame(a.storage(), b.storage(), "shared storage");
            }
        }
        m.weights().named().forEach((k, v) -> assertArrayEquals(snapshot.get(k), v.toFloatArray(), k));
        TestModels.assertSame(logits, m.forward(BATCH), "the input model's logits");
        assertTrue(WeightProcessing.process(m, new Options(false, false, false, true)).weights().tied(),
                "folding value biases alone keeps W_U tied");
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "neo"})
    void theProcessedModelPassesTheSameResidualGradients(String kind) {
        // Every step keeps the loss a function of the residual stream up to a per-position shift that LayerNorm
        // removes, so the gradient of a log-softmax loss at each residual point is unchanged.
        Gpt2Model m = model(kind);
        Gpt2Model processed = WeightProcessing.process(m, Options.defaults());
        Tensor r = Tensor.randn(new Rng(65), 2, 8, TestModels.VOCAB);
        Hooks hooks = Hooks.builder().cache("blocks\\.\\d+\\.hook_resid_(pre|mid|post)").cacheGradients().build();
        Gpt2Model.Output a = m.run(BATCH, hooks), b = processed.run(BATCH, hooks);
        a.logits().logSoftmax(-1).mul(r).sum().backward();
        b.logits().logSoftmax(-1).mul(r).sum().backward();
        assertEquals(6, a.cache().gradNames().size());
        for (String name : a.cache().gradNames()) {
            assertCloseRel(a.cache().grad(name), b.cache().grad(name), 1e-4, "gradient at " + name);
        }

        processed.weights().requireGrad();
        processed.forward(BATCH).logSoftmax(-1).mul(r).sum().backward();
        for (Tensor t : processed.weights().leaves()) {
            assertNotNull(t.grad(), "every processed weight gets a gradient");
            for (float v : t.grad().toFloatArray()) assertTrue(Float.isFinite(v));
        }
    }
}
