package dev.loupe.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.interp.demo.DemoModels;
import dev.loupe.interp.demo.IoiCorpus;
import dev.loupe.interp.detect.DetectionPatterns;
import dev.loupe.interp.detect.HeadDetector;
import dev.loupe.interp.patching.ActivationPatching;
import dev.loupe.interp.patching.Metric;
import dev.loupe.interp.patching.Metrics;
import dev.loupe.tensor.Autograd;
import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Config;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.gpt2.Gpt2Weights;
import dev.loupe.transformer.hooks.ActivationCache;
import dev.loupe.transformer.hooks.Hooks;
import dev.loupe.transformer.tokenizer.Gpt2Tokenizer;
import dev.loupe.weights.json.Json;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The demo's analysis and report on two tiny untrained models of the demo's shapes: the JSON holds every section the
 * report draws, its numbers agree with recomputing them through the library (the naive one-forward-per-patch
 * activation patching, plain forward passes, Pearson's r done here), and the HTML is self-contained and labelled.
 */
class DemoReportTest {
    private static Gpt2Model induction;
    private static DemoModels.IoiModel ioi;
    private static Map<String, Object> results;

    /**
     * Training's initialisation with every matrix 15 times larger: an untrained model whose attention is not uniform
     * and whose logit differences are far from zero, so that the comparisons below have something to compare.
     */
    private static Gpt2Model randomModel(Gpt2Config c, long seed) {
        Gpt2Weights w = Gpt2Weights.init(c, new Rng(seed));
        try (var off = Autograd.noGrad()) {
            for (Tensor p : w.leaves()) if (p.rank() == 2) p.copyFrom(p.mul(15f));
        }
        return new Gpt2Model(c, w);
    }

    @BeforeAll
    static void analyse() {
        induction = randomModel(Gpt2Config.gpt2(2, 16, 2, 64, 41).attentionOnly(), 1);
        Gpt2Tokenizer tok = Gpt2Tokenizer.r50kBase();
        int[] vocab = IoiCorpus.vocabulary(tok);
        ioi = new DemoModels.IoiModel(randomModel(Gpt2Config.gpt2(2, 16, 2, vocab.length, 40), 2), vocab, tok);
        @SuppressWarnings("unchecked")
        Map<String, Object> back = (Map<String, Object>) Json.parse(Json.write(DemoCommand.analyse(induction, ioi)));
        results = back;
    }

    private static Object at(String path) {
        Object o = results;
        for (String k : path.split("\\.")) o = ((Map<?, ?>) o).get(k);
        return o;
    }

    private static double num(String path) {
        return ((Number) at(path)).doubleValue();
    }

    @SuppressWarnings("unchecked")
    private static double[] flat(String path) {
        return ((List<List<Number>>) at(path)).stream().flatMap(List::stream).mapToDouble(Number::doubleValue)
                .toArray();
    }

    private static void assertMatrix(Tensor want, String path, double tol) {
        double[] got = flat(path);
        float[] w = want.contiguous().toFloatArray();
        assertEquals(w.length, got.length, path);
        for (int i = 0; i < w.length; i++) assertEquals(w[i], got[i], tol, path + "[" + i + "]");
    }

    @Test
    @SuppressWarnings("unchecked")
    void everySectionTheReportDrawsIsInTheJson() {
        for (String path : DemoReport.SECTIONS) assertNotNull(at(path), path);
        for (String path : List.of("induction.top_heads_attention", "ioi.top_heads_attention")) {
            for (Map<String, Object> e : (List<Map<String, Object>>) at(path)) {
                for (String k : List.of("head", "score", "pattern")) assertNotNull(e.get(k), path + " " + k);
            }
        }
        for (Map<String, Object> e : (List<Map<String, Object>>) at("ioi.top_heads_attention")) {
            for (String k : DemoReport.IOI_HEAD_KEYS) assertNotNull(e.get(k), k);
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void finalPositionAttentionToTheNamesSumsThePatternOverTheirPositions() {
        Map<String, Object> pair = ((List<Map<String, Object>>) at("ioi.patching_prompts")).get(0);
        int[] ids = ioi.encode((String) pair.get("clean"));
        int io = ioi.encode((String) pair.get("io"))[1], s = ioi.encode((String) pair.get("s"))[1];
        for (Map<String, Object> e : (List<Map<String, Object>>) at("ioi.top_heads_attention")) {
            List<Number> last = ((List<List<Number>>) e.get("pattern")).get(ids.length - 1);
            double toIo = 0, toS = 0;
            int sCount = 0;
            for (int k = 0; k < ids.length; k++) {
                if (ids[k] == io) toIo += last.get(k).doubleValue();
                if (ids[k] == s) {
                    toS += last.get(k).doubleValue();
                    sCount++;
                }
            }
            assertEquals(2, sCount, "the subject occurs twice in a clean prompt");
            assertEquals(toIo, ((Number) e.get("final_attention_to_io")).doubleValue(), 1e-9);
            assertEquals(toS, ((Number) e.get("final_attention_to_s")).doubleValue(), 1e-9);
        }
    }

    @Test
    void inductionNumbersAgreeWithTheDetectorAndAPlainForwardPass() {
        TokenBatch prompts = TokenBatch.of(DetectionPatterns.repeatedRandomTokens(new Rng(2024), 32, 20, 0, 1, 63));
        assertMatrix(HeadDetector.induction(induction, prompts, 1), "induction.induction_score", 1e-6);
        assertMatrix(HeadDetector.previousToken(induction, prompts), "induction.previous_token_score", 1e-6);
        double first = 0, second = 0;
        try (var off = Autograd.noGrad()) {
            Tensor logp = induction.forward(prompts).logSoftmax(-1);
            for (int r = 0; r < 32; r++) {
                for (int p = 0; p < 40; p++) {
                    double nll = -logp.get(r, p, prompts.token(r, p + 1)) / 32 / 20;
                    if (p < 20) first += nll;
                    else second += nll;
                }
            }
        }
        assertEquals(first, num("induction.loss_first_half"), 1e-4);
        assertEquals(second, num("induction.loss_second_half"), 1e-4);
        assertEquals(first - second, num("induction.icl_drop"), 1e-4);
    }

    @Test
    void ioiLogitDifferenceIsTheMeanOverHeldOutPromptsOfLogitIoMinusLogitS() {
        List<IoiCorpus.Prompt> held = IoiCorpus.heldOut(new Rng(7), 200);
        double sum = 0;
        try (var off = Autograd.noGrad()) {
            for (IoiCorpus.Prompt p : held) {
                int[] ids = ioi.encode(p.text());
                Tensor last = ioi.model().forward(TokenBatch.of(ids)).select(0, 0).select(0, ids.length - 1);
                sum += last.get(ioi.encode(p.io())[1]) - last.get(ioi.encode(p.s())[1]);
            }
        }
        assertEquals(200, ((Number) at("ioi.logit_diff_prompts")).intValue());
        assertEquals(sum / 200, num("ioi.logit_diff_mean"), 1e-5);
    }

    @Test
    @SuppressWarnings("unchecked")
    void patchingMatchesTheNaiveSweepsAndTheCorrelationIsPearsonsR() {
        List<Map<String, Object>> pairs = (List<Map<String, Object>>) at("ioi.patching_prompts");
        int n = pairs.size();
        int[][] clean = new int[n][], corrupt = new int[n][];
        int[] io = new int[n], s = new int[n];
        for (int i = 0; i < n; i++) {
            Map<String, Object> p = pairs.get(i);
            clean[i] = ioi.encode((String) p.get("clean"));
            corrupt[i] = ioi.encode((String) p.get("corrupted"));
            io[i] = ioi.encode((String) p.get("io"))[1];
            s[i] = ioi.encode((String) p.get("s"))[1];
        }
        TokenBatch cb = TokenBatch.of(clean), xb = TokenBatch.of(corrupt);
        Metric metric = Metrics.logitDiff(io, s);
        ActivationCache cache;
        try (var off = Autograd.noGrad()) {
            cache = ioi.model().run(cb, Hooks.cacheAll()).cache();
        }
        // an absolute tolerance well below the spread of the values compared
        for (String k : List.of("ioi.head_output_patching", "ioi.resid_pre_patching")) {
            double[] v = flat(k);
            double lo = java.util.Arrays.stream(v).min().orElseThrow(), hi = java.util.Arrays.stream(v).max().orElseThrow();
            assertTrue(hi - lo > 0.05, k + " spread " + (hi - lo) + " is too small for the comparison to mean much");
        }
        assertMatrix(ActivationPatching.heads(ioi.model(), xb, cache, ActivationPatching.HeadPoint.OUTPUT, metric),
                "ioi.head_output_patching", 1e-4);
        assertMatrix(ActivationPatching.streamByPosition(ioi.model(), xb, cache, ActivationPatching.Stream.RESID_PRE,
                metric), "ioi.resid_pre_patching", 1e-4);
        assertEquals(ActivationPatching.baseline(ioi.model(), cb, metric), num("ioi.clean_logit_diff"), 1e-4);
        for (String k : List.of("head_output", "resid_pre")) {
            double r = pearson(flat("ioi.attribution_patching." + k), flat("ioi." + k + "_patching"));
            assertEquals(r, num("ioi.attribution_patching." + k + "_correlation"), 1e-6, k);
            assertTrue(r > -1 && r < 1, "r = " + r);
        }
    }

    private static double pearson(double[] x, double[] y) {
        double mx = 0, my = 0, sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < x.length; i++) {
            mx += x[i] / x.length;
            my += y[i] / y.length;
        }
        for (int i = 0; i < x.length; i++) {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }
        return sxy / Math.sqrt(sxx * syy);
    }

    @Test
    void theReportIsSelfContainedAndLabelled() {
        String html = DemoReport.html(results);
        assertFalse(html.contains("http://") || html.contains("https://") || html.contains("src="),
                "the report must not fetch anything");
        String head = (String) at("induction.top_induction_head");
        for (String s : List.of("Induction score", "Direct logit attribution", "Attribution patching", "layer 1",
                "head 0", head, DemoReport.esc((String) at("ioi.clean_prompt")),
                String.format(java.util.Locale.ROOT, "%.3f", num("ioi.logit_diff_mean")),
                String.format(java.util.Locale.ROOT, "%.3f", num("ioi.attribution_patching.head_output_correlation")))) {
            assertTrue(html.contains(s), "missing " + s);
        }
    }

    @Test
    void promptTextIsEscaped() {
        assertEquals("When &lt;Ryan&gt; &amp; &quot;Amy&quot;", DemoReport.esc("When <Ryan> & \"Amy\""));
    }
}
