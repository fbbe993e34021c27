package dev.loupe.cli;

import static dev.loupe.cli.CliFixtures.CLEAN;
import static dev.loupe.cli.CliFixtures.CORRUPT;
import static dev.loupe.cli.CliFixtures.TOK;
import static dev.loupe.cli.CliFixtures.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.interp.demo.DemoModels;
import dev.loupe.interp.demo.IoiBatch;
import dev.loupe.interp.demo.IoiCorpus;
import dev.loupe.interp.patching.AttributionPatching;
import dev.loupe.interp.patching.EdgeAttribution;
import dev.loupe.interp.patching.Metric;
import dev.loupe.interp.patching.Metrics;
import dev.loupe.interp.tasks.IndirectObjectIdentification;
import dev.loupe.interp.tasks.TaskDataset;
import dev.loupe.interp.tasks.TaskPair;
import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Config;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.gpt2.Gpt2Weights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code loupe edge-attribution} on a tiny random GPT-2 saved to a temporary folder: its edges, ranks and metrics held
 * against {@link EdgeAttribution#run} called directly on the loaded model.
 */
class EdgeAttributionCommandTest {
    @TempDir
    static Path tmp;
    static Path dir;
    static Gpt2Model model;

    @BeforeAll
    static void saveModel() throws IOException {
        dir = tmp.resolve("tiny");
        model = CliFixtures.saveTinyGpt2(dir, 21, 0.3f);
    }

    @Test
    void jsonLinesListTheTopEdgesByMagnitudeWithTheLibrarysScores() {
        int mary = TOK.encode(" Mary")[0], john = TOK.encode(" John")[0];
        Metric m = Metrics.logitDiff(new int[] {mary}, new int[] {john});
        TokenBatch clean = TokenBatch.of(TOK.encode(CLEAN)), corrupt = TokenBatch.of(TOK.encode(CORRUPT));
        String out = CliRun.of("edge-attribution", "--model", dir.toString(), "--clean", CLEAN, "--corrupt", CORRUPT,
                "--answer", " Mary", "--wrong", " John", "--top", "6").ok();
        List<String> lines = out.strip().lines().toList();
        assertEquals(7, lines.size());
        Map<String, Object> head = json(lines.get(0));
        // denoising: the corrupted run is the target
        EdgeAttribution e = EdgeAttribution.run(model, corrupt, clean, m, AttributionPatching.Options.none());
        assertEquals(e.targetMetric(), ((Number) head.get("target_logit_diff")).doubleValue(), 1e-5);
        assertEquals(e.sourceMetric(), ((Number) head.get("source_logit_diff")).doubleValue(), 1e-5);
        assertEquals("denoise", head.get("direction"));
        // upstream edges of 2 layers, 4 heads, MLPs: embed to all 27 receivers; layer-0 heads to layer 1's 12 head
        // inputs, both MLPs and the final residual (15 each); MLP0 to layer 1's 12 head inputs, MLP1 and the final
        // residual (14); layer-1 heads to MLP1 and the final residual (2 each); MLP1 to the final residual
        assertEquals(27 + 4 * 15 + 14 + 4 * 2 + 1, ((Number) head.get("edges")).intValue());
        double[] magnitudes = new double[e.senders().size() * e.receivers().size()];
        int k = 0;
        for (int i = 0; i < e.senders().size(); i++) {
            for (int j = 0; j < e.receivers().size(); j++) {
                if (EdgeAttribution.upstream(e.senders().get(i), e.receivers().get(j))) {
                    magnitudes[k++] = Math.abs(e.scores().get(i, j));
                }
            }
        }
        double[] sorted = java.util.Arrays.stream(magnitudes, 0, k).map(x -> -x).sorted().map(x -> -x).toArray();
        for (int r = 1; r <= 6; r++) {
            Map<String, Object> line = json(lines.get(r));
            assertEquals(r, ((Number) line.get("rank")).intValue());
            double got = ((Number) line.get("attribution")).doubleValue();
            assertEquals(e.score((String) line.get("sender"), (String) line.get("receiver")), got, 1e-6);
            assertEquals(sorted[r - 1], Math.abs(got), 1e-6, "rank " + r);
        }
    }

    @Test
    void aTableOfFilteredEdgesIsTheMeanOverPairsOfSeveralLengths() {
        String out = CliRun.of("edge-attribution", "--model", dir.toString(), "--task", "ioi", "--n", "4", "--seed",
                "1", "--direction", "noise", "--senders", "L0,embed", "--receivers", "L1H2,resid_final", "--top", "0",
                "--format", "table").ok();
        TaskDataset d = IndirectObjectIdentification.generate(TOK, 4, 1, IndirectObjectIdentification.Options.defaults());
        assertTrue(d.byLength().size() > 1);
        // the mean over the pairs, here one pair at a time (noising: the clean run is the target)
        Tensor mean = null;
        EdgeAttribution any = null;
        for (TaskPair p : d.pairs()) {
            TaskDataset one = new TaskDataset("ioi", d.metric(), List.of(p));
            any = EdgeAttribution.run(model, one.clean(), one.corrupted(), one.measure(),
                    AttributionPatching.Options.none());
            Tensor t = any.scores().div(d.size());
            mean = mean == null ? t : mean.add(t);
        }
        List<String> rows = out.lines().filter(l -> !l.startsWith("#")).skip(1).toList();
        // senders embed + 4 layer-0 heads; receivers L1H2.q/k/v + resid_final: every pair is upstream
        assertEquals(5 * 4, rows.size());
        double previous = Double.MAX_VALUE;
        for (String row : rows) {
            String[] f = row.strip().split("\\s+");
            int i = any.senderNames().indexOf(f[1]), j = any.receiverNames().indexOf(f[2]);
            assertTrue(f[1].equals("embed") || f[1].startsWith("L0H"), row);
            assertTrue(f[2].startsWith("L1H2.") || f[2].equals("resid_final"), row);
            double got = Double.parseDouble(f[3]);
            assertEquals(mean.get(i, j), got, 1e-5 + 1e-5 * Math.abs(got), row);
            assertTrue(Math.abs(got) <= previous + 1e-12, "sorted by |attribution|: " + row);
            previous = Math.abs(got);
        }
        assertTrue(out.contains("# direction: noise"), out);
    }

    @Test
    void theDemoPairsAreTheDemoBatchScoredByItsMetric() {
        int[] vocab = IoiCorpus.vocabulary(TOK);
        Gpt2Config c = Gpt2Config.gpt2(2, 16, 2, vocab.length, 40);
        DemoModels.IoiModel m = new DemoModels.IoiModel(new Gpt2Model(c, Gpt2Weights.init(c, new Rng(3))), vocab, TOK);
        TaskDataset d = EdgeAttributionCommand.demoPairs(m, 3, true, 11);
        IoiBatch b = IoiBatch.of(m, 3, true, 11);
        EdgeAttribution viaCommand = EdgeAttributionCommand.mean(m.model(), d, true, AttributionPatching.Options.none());
        EdgeAttribution direct = EdgeAttribution.run(m.model(), b.corrupted(), b.clean(), b.metric(),
                AttributionPatching.Options.none());
        assertEquals(direct.targetMetric(), viaCommand.targetMetric(), 1e-6);
        assertEquals(direct.sourceMetric(), viaCommand.sourceMetric(), 1e-6);
        float[] x = direct.scores().toFloatArray(), y = viaCommand.scores().toFloatArray();
        float largest = 0;
        for (int i = 0; i < x.length; i++) {
            assertEquals(x[i], y[i], 1e-6);
            largest = Math.max(largest, Math.abs(x[i]));
        }
        assertTrue(largest > 0, "some edge has an effect");
    }

    @Test
    void usageErrorsNameTheProblem() {
        String[] pair = {"--clean", CLEAN, "--corrupt", CORRUPT, "--answer", " Mary", "--wrong", " John"};
        CliRun.assertUsageError("'L9' names no component", concat(new String[] {"edge-attribution", "--model",
                dir.toString(), "--senders", "L9"}, pair));
        CliRun.assertUsageError("expected jsonl or table", concat(new String[] {"edge-attribution", "--model",
                dir.toString(), "--format", "csv"}, pair));
        CliRun.assertUsageError("give one of --model and --demo", concat(new String[] {"edge-attribution", "--model",
                dir.toString(), "--demo", "ioi"}, pair));
        CliRun.assertUsageError("does not apply to --demo", "edge-attribution", "--demo", "ioi", "--task", "ioi");
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
