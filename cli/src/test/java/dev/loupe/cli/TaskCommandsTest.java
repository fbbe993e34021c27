package dev.loupe.cli;

import static dev.loupe.cli.CliFixtures.CLEAN;
import static dev.loupe.cli.CliFixtures.CORRUPT;
import static dev.loupe.cli.CliFixtures.TOK;
import static dev.loupe.cli.CliFixtures.at;
import static dev.loupe.cli.CliFixtures.ints;
import static dev.loupe.cli.CliFixtures.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.interp.detect.DetectionPatterns;
import dev.loupe.interp.detect.HeadDetector;
import dev.loupe.interp.patching.ActivationPatching;
import dev.loupe.interp.patching.AttributionPatching;
import dev.loupe.interp.patching.Metric;
import dev.loupe.interp.patching.Metrics;
import dev.loupe.interp.patching.PathPatching;
import dev.loupe.interp.patching.PathPatching.Receiver;
import dev.loupe.interp.tasks.GreaterThan;
import dev.loupe.interp.tasks.IndirectObjectIdentification;
import dev.loupe.interp.tasks.TaskDataset;
import dev.loupe.interp.tasks.TaskPair;
import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Model;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The task commands (dataset, path-patch, attribution-patch, heads) run in-process on a tiny random GPT-2 saved to a
 * temporary folder; their JSON is held against the library called directly on the loaded model.
 */
class TaskCommandsTest {
    @TempDir
    static Path tmp;
    static Path dir;
    static Gpt2Model model;

    @BeforeAll
    static void saveModel() throws IOException {
        dir = tmp.resolve("tiny");
        model = CliFixtures.saveTinyGpt2(dir, 21, 0.3f);
    }

    /** Every element of a [a, b] or [a, b, c] tensor against the JSON's nested lists. */
    private static void assertNested(Tensor expected, Object nested, double tol) {
        int[] s = expected.shape();
        int inner = s.length == 3 ? s[2] : 1;
        for (int i = 0; i < s[0]; i++) {
            for (int j = 0; j < s[1]; j++) {
                for (int k = 0; k < inner; k++) {
                    double want = s.length == 3 ? expected.get(i, j, k) : expected.get(i, j);
                    double got = s.length == 3 ? at(nested, i, j, k) : at(nested, i, j);
                    assertEquals(want, got, tol + 1e-4 * Math.abs(want), "at " + i + ", " + j + ", " + k);
                }
            }
        }
    }

    @Test
    void datasetPrintsTheGeneratorsPairs() {
        Map<String, Object> j = json(CliRun.of("dataset", "ioi", "--n", "12", "--seed", "3", "--corruption", "s2",
                "--order", "abba", "--model", dir.toString()).ok());
        List<TaskPair> expected = IndirectObjectIdentification.generate(TOK, 12, 3,
                new IndirectObjectIdentification.Options(IndirectObjectIdentification.Order.ABBA,
                        IndirectObjectIdentification.Corruption.S2_SWAP, false)).pairs();
        List<?> pairs = (List<?>) j.get("pairs");
        assertEquals(12, pairs.size());
        assertEquals("logit-diff", j.get("metric"));
        for (int i = 0; i < 12; i++) {
            Map<?, ?> p = (Map<?, ?>) pairs.get(i);
            TaskPair e = expected.get(i);
            assertEquals(e.clean(), p.get("clean"));
            assertEquals(e.corrupted(), p.get("corrupt"));
            assertEquals(e.answer(), p.get("answer"));
            assertEquals(e.wrong(), p.get("wrong"));
            assertEquals(TOK.encode(e.clean()).length, ((Number) p.get("n_tokens")).intValue());
            assertTrue(Arrays.equals(TOK.encode((String) p.get("corrupt")), ints(p.get("corrupt_tokens"))));
            assertTrue(Arrays.equals(new int[] {TOK.encode(e.answer())[0]}, ints(p.get("answer_ids"))));
        }

        Map<String, Object> g = json(CliRun.of("dataset", "greater-than", "--n", "3").ok());
        assertEquals("prob-diff", g.get("metric"));
        TaskPair first = GreaterThan.generate(TOK, 3, 0).pairs().get(0);
        Map<?, ?> p = (Map<?, ?>) ((List<?>) g.get("pairs")).get(0);
        assertTrue(Arrays.equals(first.answerIds(), ints(p.get("answer_ids"))));
        assertTrue(Arrays.equals(first.wrongIds(), ints(p.get("wrong_ids"))));
        assertEquals(3, ((Number) ((Map<?, ?>) g.get("token_lengths")).get("12")).intValue());

        CliRun.assertUsageError("unknown task 'war'", "dataset", "war");
        CliRun.assertUsageError("ioi task only", "dataset", "sva", "--corruption", "abc");
        CliRun.assertUsageError("name a task first", "dataset", "--n", "3");
    }

    @Test
    void pathPatchSweepsEverySenderHeadAsTheLibraryDoes() {
        int mary = TOK.encode(" Mary")[0], john = TOK.encode(" John")[0];
        Metric m = Metrics.logitDiff(new int[] {mary}, new int[] {john});
        TokenBatch clean = TokenBatch.of(TOK.encode(CLEAN)), corrupt = TokenBatch.of(TOK.encode(CORRUPT));
        Map<String, Object> j = json(CliRun.of("path-patch", "--model", dir.toString(), "--clean", CLEAN, "--corrupt",
                CORRUPT, "--answer", " Mary", "--wrong", " John", "--receivers", "L1H2q,L1H0",
                "--receivers", "final").ok());
        Tensor expected = PathPatching.sweepHeads(model, clean, corrupt, List.of(new Receiver.HeadInput(1, 2, 'q'),
                new Receiver.HeadOutput(1, 0), new Receiver.FinalResidual()), m, new PathPatching.Options(false));
        assertEquals(List.of("layer", "head"), j.get("dims"));
        assertNested(expected, j.get("patched_logit_diff"), 1e-5);
        float c = ActivationPatching.baseline(model, clean, m), k = ActivationPatching.baseline(model, corrupt, m);
        assertEquals(c, ((Number) j.get("clean_logit_diff")).doubleValue(), 1e-5);
        assertEquals(k, ((Number) j.get("corrupt_logit_diff")).doubleValue(), 1e-5);
        assertEquals((expected.get(0, 3) - k) / (c - k), at(j.get("normalized"), 0, 3), 1e-3);

        // pairs from the IOI dataset (templates of several token lengths), every MLP frozen: the mean over the pairs,
        // here computed one pair at a time
        Map<String, Object> t = json(CliRun.of("path-patch", "--model", dir.toString(), "--task", "ioi", "--n", "6",
                "--seed", "2", "--receivers", "L1", "--freeze-mlps").ok());
        TaskDataset d = IndirectObjectIdentification.generate(TOK, 6, 2, IndirectObjectIdentification.Options.defaults());
        assertTrue(d.byLength().size() > 1);
        Tensor fromTask = Tensor.zeros(2, 4);
        double cleanMean = 0;
        for (TaskPair pair : d.pairs()) {
            TaskDataset one = new TaskDataset("ioi", d.metric(), List.of(pair));
            fromTask = fromTask.add(PathPatching.sweepHeads(model, one.clean(), one.corrupted(),
                    PathPatching.allHeadInputs(1, 4), one.measure(), new PathPatching.Options(true)).div(d.size()));
            cleanMean += ActivationPatching.baseline(model, one.clean(), one.measure()) / d.size();
        }
        assertNested(fromTask, t.get("patched_logit_diff"), 1e-5);
        assertEquals(cleanMean, ((Number) t.get("clean_logit_diff")).doubleValue(), 1e-5);
        assertEquals(6, ((Number) t.get("pairs")).intValue());
        assertEquals(true, t.get("freeze_mlps"));

        CliRun.assertUsageError("layer 5 outside 0..1", "path-patch", "--model", dir.toString(), "--clean", CLEAN,
                "--corrupt", CORRUPT, "--answer", " Mary", "--wrong", " John", "--receivers", "L5H0q");
        CliRun.assertUsageError("one token length", "path-patch", "--model", dir.toString(), "--clean", CLEAN,
                "--corrupt", "When Mary left", "--answer", " Mary", "--wrong", " John", "--receivers", "final");
        CliRun.assertUsageError("use prob-diff", "path-patch", "--model", dir.toString(), "--task", "greater-than",
                "--metric", "logit-diff", "--receivers", "final");
    }

    @Test
    void attributionPatchGivesTheLibrarysReductions() {
        int mary = TOK.encode(" Mary")[0], john = TOK.encode(" John")[0];
        Metric m = Metrics.logitDiff(new int[] {mary}, new int[] {john});
        TokenBatch clean = TokenBatch.of(TOK.encode(CLEAN)), corrupt = TokenBatch.of(TOK.encode(CORRUPT));
        Map<String, Object> j = json(CliRun.of("attribution-patch", "--model", dir.toString(), "--clean", CLEAN,
                "--corrupt", CORRUPT, "--answer", " Mary", "--wrong", " John", "--activation", "resid_pre").ok());
        AttributionPatching.Result r = AttributionPatching.run(model, corrupt, clean, m,
                n -> n.endsWith("hook_resid_pre"), AttributionPatching.Options.none());
        Tensor expected = AttributionPatching.stream(r, 2, ActivationPatching.Stream.RESID_PRE);
        assertEquals(List.of("layer", "pos"), j.get("dims"));
        Map<?, ?> only = group(j, 0);
        assertEquals(1, ((List<?>) j.get("groups")).size());
        assertEquals(TOK.toStringTokens(corrupt.row(0)), ((List<?>) only.get("labels")).get(1));
        assertNested(expected, only.get("attribution"), 1e-6);
        float k = ActivationPatching.baseline(model, corrupt, m);
        assertEquals(expected.get(1, 3) + k, at(only.get("estimated_logit_diff"), 1, 3), 1e-5);

        // a task, noising, per head and position, with frozen patterns: [layer, head, pos]
        Map<String, Object> t = json(CliRun.of("attribution-patch", "--model", dir.toString(), "--task",
                "greater-than", "--n", "4", "--seed", "1", "--activation", "z_pos", "--direction", "noise",
                "--freeze-patterns").ok());
        TaskDataset d = GreaterThan.generate(TOK, 4, 1);
        AttributionPatching.Result rt = AttributionPatching.run(model, d.clean(), d.corrupted(), d.measure(),
                n -> n.endsWith("attn.hook_z"), new AttributionPatching.Options(true, false, null));
        Tensor heads = AttributionPatching.heads(rt, 2, ActivationPatching.HeadPoint.OUTPUT, true);
        assertEquals(List.of("layer", "head", "pos"), t.get("dims"));
        assertEquals("prob-diff", t.get("metric"));
        assertNested(heads, group(t, 0).get("attribution"), 1e-9);
        assertTrue(t.containsKey("clean_prob_diff"));

        // IOI pairs of several lengths, per head: the mean over the pairs, here one pair at a time
        Map<String, Object> h = json(CliRun.of("attribution-patch", "--model", dir.toString(), "--task", "ioi",
                "--n", "5", "--seed", "4", "--activation", "v").ok());
        TaskDataset ioi = IndirectObjectIdentification.generate(TOK, 5, 4,
                IndirectObjectIdentification.Options.defaults());
        assertTrue(ioi.byLength().size() > 1);
        Tensor perPair = Tensor.zeros(2, 4);
        for (TaskPair pair : ioi.pairs()) {
            TaskDataset one = new TaskDataset("ioi", ioi.metric(), List.of(pair));
            AttributionPatching.Result ro = AttributionPatching.run(model, one.corrupted(), one.clean(), one.measure(),
                    n -> n.endsWith("attn.hook_v"), AttributionPatching.Options.none());
            perPair = perPair.add(AttributionPatching.heads(ro, 2, ActivationPatching.HeadPoint.VALUE, false)
                    .div(ioi.size()));
        }
        assertNested(perPair, h.get("attribution"), 1e-6);
        assertEquals(5, ((Number) h.get("pairs")).intValue());

        CliRun.assertUsageError("unknown kind 'resid'", "attribution-patch", "--model", dir.toString(), "--task",
                "sva", "--activation", "resid");
    }

    @Test
    void attributionPatchByPositionGivesOneBlockPerTokenLength() {
        // IOI pairs of two lengths (14 and 18 tokens, two pairs each)
        Map<String, Object> j = json(CliRun.of("attribution-patch", "--model", dir.toString(), "--task", "ioi",
                "--n", "4", "--seed", "1", "--activation", "resid_pre").ok());
        TaskDataset d = IndirectObjectIdentification.generate(TOK, 4, 1, IndirectObjectIdentification.Options.defaults());
        List<TaskDataset> groups = d.byLength();
        assertEquals(2, groups.size());
        assertEquals(2, ((List<?>) j.get("groups")).size());
        double cleanMean = 0;
        for (int i = 0; i < 2; i++) {
            TaskDataset g = groups.get(i);
            AttributionPatching.Result r = AttributionPatching.run(model, g.corrupted(), g.clean(), g.measure(),
                    n -> n.endsWith("hook_resid_pre"), AttributionPatching.Options.none());
            Tensor expected = AttributionPatching.stream(r, 2, ActivationPatching.Stream.RESID_PRE);
            Map<?, ?> block = group(j, i);
            assertEquals(g.tokenLength(), ((Number) block.get("token_length")).intValue());
            assertEquals(2, ((Number) block.get("pairs")).intValue());
            assertEquals(g.tokenLength(), ((List<?>) ((List<?>) block.get("labels")).get(1)).size());
            assertNested(expected, block.get("attribution"), 1e-6);
            float k = ActivationPatching.baseline(model, g.corrupted(), g.measure());
            float c = ActivationPatching.baseline(model, g.clean(), g.measure());
            assertEquals(k, ((Number) block.get("corrupt_logit_diff")).doubleValue(), 1e-5);
            assertEquals(c, ((Number) block.get("clean_logit_diff")).doubleValue(), 1e-5);
            assertEquals(expected.get(1, 5) + k, at(block.get("estimated_logit_diff"), 1, 5), 1e-5);
            cleanMean += c * g.size() / (double) d.size();
        }
        assertEquals(cleanMean, ((Number) j.get("clean_logit_diff")).doubleValue(), 1e-5);
        assertEquals(4, ((Number) j.get("pairs")).intValue());
    }

    private static Map<?, ?> group(Map<String, Object> j, int i) {
        return (Map<?, ?>) ((List<?>) j.get("groups")).get(i);
    }

    @Test
    void headsScoresRepeatedRandomTokensWithTheDetector() {
        Map<String, Object> j = json(CliRun.of("heads", "--model", dir.toString(), "--detect", "induction", "--seq",
                "6", "--batch", "3", "--seed", "2").ok());
        TokenBatch prompts = TokenBatch.of(DetectionPatterns.repeatedRandomTokens(new Rng(2), 3, 6, 50256, 0, 50256));
        assertNested(HeadDetector.induction(model, prompts, 1), j.get("scores"), 1e-6);
        assertEquals(50256, ((Number) j.get("bos")).intValue());
        Map<String, Object> p = json(CliRun.of("heads", "--model", dir.toString(), "--detect", "prefix", "--seq",
                "5").ok());
        TokenBatch eight = TokenBatch.of(DetectionPatterns.repeatedRandomTokens(new Rng(0), 8, 5, 50256, 0, 50256));
        assertNested(HeadDetector.prefixMatching(model, eight, 5), p.get("scores"), 1e-6);
        CliRun.assertUsageError("context is 32", "heads", "--model", dir.toString(), "--detect", "previous",
                "--seq", "16");
        CliRun.assertUsageError("expected induction, previous", "heads", "--model", dir.toString(), "--detect", "copy");
    }
}
