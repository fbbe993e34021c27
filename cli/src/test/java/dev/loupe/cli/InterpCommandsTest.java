package dev.loupe.cli;

import static dev.loupe.cli.CliFixtures.CLEAN;
import static dev.loupe.cli.CliFixtures.CORRUPT;
import static dev.loupe.cli.CliFixtures.TOK;
import static dev.loupe.cli.CliFixtures.at;
import static dev.loupe.cli.CliFixtures.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.interp.patching.ActivationPatching;
import dev.loupe.interp.patching.Metric;
import dev.loupe.interp.patching.Metrics;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.hooks.Hooks;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The interpretability commands run in-process on a tiny random GPT-2 saved to a temporary folder; their JSON is held
 * against the library's direct (naive) methods on the same model.
 */
class InterpCommandsTest {
    @TempDir
    static Path tmp;
    static Path dir;
    static Gpt2Model model;

    @BeforeAll
    static void saveModel() throws IOException {
        dir = tmp.resolve("tiny");
        model = CliFixtures.saveTinyGpt2(dir, 8, 0.2f);
    }

    @Test
    void patchGivesTheDirectSweepsValuesWithLabelsAndBaselines() throws IOException {
        int[] clean = TOK.encode(CLEAN), corrupt = TOK.encode(CORRUPT);
        int mary = TOK.encode(" Mary")[0], john = TOK.encode(" John")[0];
        Metric m = Metrics.logitDiff(new int[] {mary}, new int[] {john});
        float cleanDiff = ActivationPatching.baseline(model, TokenBatch.of(clean), m);
        float corruptDiff = ActivationPatching.baseline(model, TokenBatch.of(corrupt), m);
        Path out = tmp.resolve("patch.json");
        CliRun.of("patch", "--model", dir.toString(), "--clean", CLEAN, "--corrupt", CORRUPT, "--answer", " Mary",
                "--wrong", " John", "--activation", "resid_pre", "--out", out.toString()).ok();
        Map<String, Object> j = json(Files.readString(out));
        assertEquals(List.of("layer", "pos"), j.get("dims"));
        assertEquals("[0, 1]", ((List<?>) j.get("labels")).get(0).toString());
        assertEquals(TOK.toStringTokens(corrupt), ((List<?>) j.get("labels")).get(1));
        assertEquals(cleanDiff, ((Number) j.get("clean_logit_diff")).doubleValue(), 1e-5);
        assertEquals(corruptDiff, ((Number) j.get("corrupt_logit_diff")).doubleValue(), 1e-5);
        Tensor expected = ActivationPatching.streamByPosition(model, TokenBatch.of(corrupt),
                model.run(TokenBatch.of(clean), Hooks.cacheAll()).cache(), ActivationPatching.Stream.RESID_PRE, m);
        for (int l = 0; l < 2; l++) {
            for (int p = 0; p < clean.length; p++) {
                double v = at(j.get("patched_logit_diff"), l, p);
                assertEquals(expected.get(l, p), v, 1e-5, "layer " + l + " pos " + p);
                assertEquals((v - corruptDiff) / (cleanDiff - corruptDiff), at(j.get("normalized"), l, p), 1e-4);
            }
        }

        // noising heads by position, token ids instead of text
        String ids = String.join(",", java.util.Arrays.stream(clean).mapToObj(Integer::toString).toList());
        String cids = String.join(",", java.util.Arrays.stream(corrupt).mapToObj(Integer::toString).toList());
        Map<String, Object> h = json(CliRun.of("patch", "--model", dir.toString(), "--clean-tokens", ids,
                "--corrupt-tokens", cids, "--answer-id", Integer.toString(mary), "--wrong-id", Integer.toString(john),
                "--activation", "z_pos", "--direction", "noise").ok());
        assertEquals(List.of("layer", "head", "pos"), h.get("dims"));
        Tensor heads = ActivationPatching.headsByPosition(model, TokenBatch.of(clean),
                model.run(TokenBatch.of(corrupt), Hooks.cacheAll()).cache(), ActivationPatching.HeadPoint.OUTPUT, m);
        for (int p = 0; p < clean.length; p++) {
            assertEquals(heads.get(1, 2, p), at(h.get("patched_logit_diff"), 1, 2, p), 1e-5);
        }
    }

    @Test
    void patchErrorsNameTheProblem() {
        CliRun r = CliRun.of("patch", "--model", dir.toString(), "--clean", CLEAN, "--corrupt", "When Mary left",
                "--answer", " Mary", "--wrong", " John", "--activation", "resid_pre");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("same length"), r.err());
        r = CliRun.of("patch", "--model", dir.toString(), "--clean", CLEAN, "--corrupt", CORRUPT,
                "--answer", " Bartholomew", "--wrong", " John", "--activation", "resid_pre");
        assertTrue(r.err().contains("not one"), r.err());
        r = CliRun.of("patch", "--model", dir.toString(), "--clean", CLEAN, "--corrupt", CORRUPT,
                "--answer", " Mary", "--wrong", " John", "--activation", "resid");
        assertTrue(r.err().contains("unknown kind 'resid'"), r.err());
        Map<String, Object> same = json(CliRun.of("patch", "--model", dir.toString(), "--clean", CLEAN, "--corrupt",
                CLEAN, "--answer", " Mary", "--wrong", " John", "--activation", "attn_out").ok());
        assertNull(same.get("normalized"));
    }

    @Test
    void lensEndsAtTheModelsOwnLogits() {
        int[] ids = TOK.encode(CLEAN);
        int last = ids.length - 1, mary = TOK.encode(" Mary")[0], john = TOK.encode(" John")[0];
        Map<String, Object> j = json(CliRun.of("lens", "--model", dir.toString(), "--prompt", CLEAN, "--top-k", "3",
                "--answer", " Mary", "--wrong", " John").ok());
        List<?> points = (List<?>) ((List<?>) j.get("labels")).get(0);
        assertEquals(List.of("0_pre", "1_pre", "final_post"), points);
        Tensor logits = model.forward(TokenBatch.of(ids)).select(0, 0); // [pos, vocab]
        for (int p = 0; p < ids.length; p++) {
            int best = (int) logits.select(0, p).argmax(-1, false).item();
            assertEquals(best, (int) at(j.get("top_ids"), 2, p, 0), "pos " + p);
        }
        assertEquals(logits.get(last, mary) - logits.get(last, john), at(j.get("logit_diff"), 2, last), 1e-4);
        assertEquals(3, ((List<?>) ((List<?>) ((List<?>) j.get("top_tokens")).get(0)).get(0)).size());
    }

    @Test
    void dlaComponentsAddUpToTheLogitDifferenceAndHeadsToTheirLayer() {
        int[] ids = TOK.encode(CLEAN);
        int last = ids.length - 1, mary = TOK.encode(" Mary")[0], john = TOK.encode(" John")[0];
        Map<String, Object> j = json(CliRun.of("dla", "--model", dir.toString(), "--prompt", CLEAN, "--answer",
                " Mary", "--wrong", " John").ok());
        @SuppressWarnings("unchecked") Map<String, Object> comps = (Map<String, Object>) j.get("components");
        @SuppressWarnings("unchecked") Map<String, Object> heads = (Map<String, Object>) j.get("heads");
        List<?> labels = (List<?>) comps.get("labels");
        assertEquals(List.of("embed", "pos_embed", "0_attn_out", "0_mlp_out", "1_attn_out", "1_mlp_out"), labels);
        double sum = 0;
        for (int i = 0; i < labels.size(); i++) sum += at(comps.get("attribution"), i);
        Tensor logits = model.forward(TokenBatch.of(ids));
        double diff = logits.get(0, last, mary) - logits.get(0, last, john);
        assertEquals(diff, ((Number) j.get("logit_diff")).doubleValue(), 1e-5);
        assertEquals(diff, sum + ((Number) j.get("ln_bias_term")).doubleValue(), 1e-4 * Math.max(1, Math.abs(diff)));
        // a layer's attention output = its heads + b_O: the difference is b_O (centred) read through the frozen scale
        float scale = model.run(TokenBatch.of(ids), Hooks.cacheAll()).cache()
                .get(dev.loupe.transformer.hooks.HookNames.LN_FINAL_SCALE).get(0, last, 0);
        Tensor w = model.weights().wU();
        for (int l = 0; l < 2; l++) {
            Tensor bO = model.weights().blocks().get(l).bO();
            double expected = 0, mean = bO.mean().item();
            for (int d = 0; d < 16; d++) expected += (bO.get(d) - mean) * (w.get(d, mary) - w.get(d, john));
            expected /= scale;
            double headSum = 0;
            for (int h = 0; h < 4; h++) headSum += at(heads.get("attribution"), l, h);
            assertEquals(expected, at(comps.get("attribution"), 2 + 2 * l) - headSum, 1e-4, "layer " + l);
        }
    }

    @Test
    void ablateMatchesAHandWrittenZeroingHook() {
        int[] ids = TOK.encode(CLEAN);
        int last = ids.length - 1, mary = TOK.encode(" Mary")[0], john = TOK.encode(" John")[0];
        Map<String, Object> j = json(CliRun.of("ablate", "--model", dir.toString(), "--prompt", CLEAN, "--answer",
                " Mary", "--wrong", " John").ok());
        assertEquals(List.of("layer", "head"), j.get("dims"));
        Hooks zeroL1H2 = Hooks.builder().forward(dev.loupe.transformer.hooks.HookNames.attn(1, "hook_z"), (z, n) -> {
            Tensor copy = Tensor.zeros(z.shape());
            copy.copyFrom(z);
            copy.narrow(2, 2, 1).fill(0);
            return copy;
        }).build();
        Tensor logits = model.run(TokenBatch.of(ids), zeroL1H2).logits();
        assertEquals(logits.get(0, last, mary) - logits.get(0, last, john), at(j.get("ablated_logit_diff"), 1, 2),
                1e-5);
        Map<String, Object> mlp = json(CliRun.of("ablate", "--model", dir.toString(), "--prompt", CLEAN, "--answer",
                " Mary", "--wrong", " John", "--target", "mlp", "--ablation", "mean", "--reference", CORRUPT).ok());
        assertEquals(List.of("layer"), mlp.get("dims"));
        Tensor refMlp = model.run(TokenBatch.of(TOK.encode(CORRUPT)), Hooks.cacheAll()).cache()
                .get(dev.loupe.transformer.hooks.HookNames.mlpOut(0));
        Tensor patched = model.run(TokenBatch.of(ids), Hooks.builder().forward(
                dev.loupe.transformer.hooks.HookNames.mlpOut(0), (x, n) -> refMlp).build()).logits();
        assertEquals(patched.get(0, last, mary) - patched.get(0, last, john), at(mlp.get("ablated_logit_diff"), 0),
                1e-5);
        assertEquals(2, CliRun.of("ablate", "--model", dir.toString(), "--prompt", CLEAN, "--answer", " Mary",
                "--wrong", " John", "--ablation", "mean").code());
    }
}
