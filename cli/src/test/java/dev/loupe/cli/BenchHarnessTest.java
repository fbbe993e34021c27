package dev.loupe.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.cli.BenchMarkdown.Machine;
import dev.loupe.cli.BenchResult.Figure;
import dev.loupe.cli.BenchResult.Status;
import dev.loupe.cli.BenchResult.Target;
import dev.loupe.tensor.Rng;
import dev.loupe.transformer.gpt2.Gpt2Config;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.gpt2.Gpt2Weights;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The benchmark harness without timing: its reading of anchors' output, its ratio and target rules, the rewrite of
 * BENCHMARKS.md's generated block, the rows it reports when an anchor or a checkpoint is missing, and its argument
 * errors. Figures are only checked for consistency with the lines the same run printed, never for speed.
 */
class BenchHarnessTest {
    private static final Machine MACHINE = new Machine("Test CPU", 2, 24, "Test JDK 25");
    private static final LocalDate DAY = LocalDate.of(2026, 11, 21);

    @TempDir
    Path tmp;

    // ------------------------------------------------------------------ JSON lines

    @Test
    void jsonLinesKeepOnlyTheObjectsAmongWarningsAndNoise() {
        String out = "/usr/lib/python3/dist-packages/torch/__init__.py:12: UserWarning: something\n"
                + "{\"m\": 128, \"k\": 768, \"n\": 2304, \"ms\": 11.141, \"gflops\": 40.7}\r\n"
                + "\n"
                + "{not json at all}\n"
                + "  {\"anchor\": \"pytorch-1.13.0\", \"mode\": \"fwd\", \"ms\": 438.0}  \n"
                + "progress 3/5";
        List<Map<String, Object>> lines = BenchSetup.jsonLines(out);
        assertEquals(2, lines.size());
        assertEquals(128L, lines.get(0).get("m"));
        assertEquals(40.7, lines.get(0).get("gflops"));
        assertEquals("pytorch-1.13.0", lines.get(1).get("anchor"));
        assertEquals("PyTorch 1.13.0", Gpt2Bench.anchorName(lines.get(1)));
    }

    @Test
    void aLineWithoutTheFigureIsAFailedAnchor() throws Exception {
        Map<String, Object> line = BenchSetup.jsonLines("{\"ms\": 12.5, \"gflops\": \"fast\"}").get(0);
        assertEquals(12.5, BenchSetup.number(line, "ms"));
        BenchSetup.AnchorFailed e = assertThrows(BenchSetup.AnchorFailed.class,
                () -> BenchSetup.number(line, "gflops"));
        assertTrue(e.getMessage().contains("gflops"), e.getMessage());
    }

    // ------------------------------------------------------------------ ratios and targets

    @Test
    void throughputRatioIsLoupeOverAnchorAndMetAtTheBound() {
        Target t = Target.throughputAtLeast(0.9);
        BenchResult at = BenchResult.compared("gemm", "c", gflops(90), "OpenBLAS", gflops(100), t);
        assertEquals(0.9, at.ratio(), 1e-12);
        assertEquals(Status.MET, at.status());
        BenchResult below = BenchResult.compared("gemm", "c", gflops(89), "OpenBLAS", gflops(100), t);
        assertEquals(0.89, below.ratio(), 1e-12);
        assertEquals(Status.NOT_MET, below.status());
        assertEquals("throughput ratio ≥ 0.9", t.text());
    }

    @Test
    void timeRatioIsLoupeOverAnchorAndMetAtOrBelowTheBound() {
        Target t = Target.timeAtMost(0.8);
        assertEquals(Status.MET, BenchResult.compared("gpt2", "c", ms(80), "PyTorch", ms(100), t).status());
        BenchResult slow = BenchResult.compared("gpt2", "c", ms(81), "PyTorch", ms(100), t);
        assertEquals(0.81, slow.ratio(), 1e-12);
        assertEquals(Status.NOT_MET, slow.status());
        assertEquals("not met", slow.toJson().get("status"));
    }

    @Test
    void speedupIsAnchorTimeOverLoupeTime() {
        Target t = Target.speedupAtLeast(5);
        BenchResult fast = BenchResult.compared("patch-sweep", "c", ms(1543), "naive", ms(12872), t);
        assertEquals(12872.0 / 1543.0, fast.ratio(), 1e-12);
        assertEquals(Status.MET, fast.status());
        assertEquals(Status.NOT_MET, BenchResult.compared("patch-sweep", "c", ms(100), "naive", ms(499), t).status());
        assertEquals("speed-up ≥ 5", t.text());
    }

    @Test
    void aMissingAnchorLeavesNoRatioAndSaysWhy() {
        BenchResult r = BenchResult.withoutAnchor("gemm", "c", gflops(50), "OpenBLAS", Target.throughputAtLeast(0.9),
                "anchor missing: no /x/gemm_openblas.py");
        assertNull(r.ratio());
        assertEquals(Status.NO_ANCHOR, r.status());
        assertEquals("anchor missing: no /x/gemm_openblas.py", r.statusText());
        Map<String, Object> json = r.toJson();
        assertEquals(50.0, json.get("loupe"));
        assertNull(json.get("anchor_value"));
        assertEquals("anchor missing", json.get("status"));
    }

    @Test
    void aRunsTargetIsMetByAFigureNotMetByAFailureAndSkippedWithoutACheckpoint() {
        Target t = Target.runs("runs with -Xmx2g");
        assertEquals(Status.MET, BenchResult.compared("xl", "c", ms(863), "—", null, t).status());
        assertEquals(Status.NOT_MET, BenchResult.skipped("xl", "c", "—", t, "failed under -Xmx2g: exit 1").status());
        BenchResult skipped = BenchResult.skipped("xl", "c", "—", t, "skipped: checkpoint missing");
        assertEquals(Status.SKIPPED, skipped.status());
        assertEquals("skipped: checkpoint missing", skipped.statusText());
    }

    @Test
    void inconsistentRowsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> BenchResult.compared("g", "c", ms(1), "a", gflops(1),
                Target.timeAtMost(0.8)));
        assertThrows(IllegalArgumentException.class, () -> Target.timeAtMost(0));
        assertThrows(IllegalArgumentException.class, () -> new Figure(Double.NaN, "ms"));
    }

    // ------------------------------------------------------------------ BENCHMARKS.md block

    private static final String PROSE_BEFORE = "# Benchmarks\n\nHand-written intro | with a pipe.\n\n## Current\n\n";
    private static final String PROSE_AFTER = "\n\n## SGEMM vs OpenBLAS\n\nProse about `gemm` that stays.\n"
            + "| `gemm` | a hand-written table row outside the block | stays |\n";

    private static String document() {
        return PROSE_BEFORE + BenchMarkdown.placeholder() + PROSE_AFTER;
    }

    private static List<BenchResult> gemmRows(double loupe) {
        return List.of(BenchResult.compared("gemm", "128,768,2304", gflops(loupe), "OpenBLAS", gflops(244.4),
                Target.throughputAtLeast(0.9)));
    }

    @Test
    void rewriteFillsTheBlockAndLeavesTheProseOutsideUntouched() {
        String doc = BenchMarkdown.rewrite(document(), MACHINE, DAY, gemmRows(413.8), Set.of("gemm"),
                BenchCommand.NAMES);
        assertTrue(doc.startsWith(PROSE_BEFORE + BenchMarkdown.BEGIN + "\n"), doc);
        assertTrue(doc.endsWith(BenchMarkdown.END + PROSE_AFTER), doc);
        assertEquals(1, count(doc, BenchMarkdown.BEGIN));
        assertEquals(1, count(doc, BenchMarkdown.END));
        assertFalse(doc.contains(BenchMarkdown.PLACEHOLDER));
        assertTrue(doc.contains("Machine: Test CPU, 2 cores, 24 GB. JDK: Test JDK 25. Last written 2026-11-21."), doc);
        // 413.8 / 244.4 = 1.693...
        assertTrue(doc.contains("| `gemm` | 128,768,2304 | 414 GFLOP/s | 244 GFLOP/s (OpenBLAS) | 1.69 | "
                + "throughput ratio ≥ 0.9 | **met** | 2026-11-21 |"), doc);
    }

    @Test
    void rewriteIsIdempotent() {
        String once = BenchMarkdown.rewrite(document(), MACHINE, DAY, gemmRows(413.8), Set.of("gemm"),
                BenchCommand.NAMES);
        String twice = BenchMarkdown.rewrite(once, MACHINE, DAY, gemmRows(413.8), Set.of("gemm"), BenchCommand.NAMES);
        assertEquals(once, twice);
    }

    @Test
    void oneBenchmarkReplacesOnlyItsRowsAndKeepsTheOrder() {
        List<BenchResult> gpt2 = List.of(BenchResult.compared("gpt2", "B=1 T=128", ms(152.9), "PyTorch 1.13.0",
                ms(438.0), Target.timeAtMost(0.8)));
        String first = BenchMarkdown.rewrite(document(), MACHINE, DAY, gpt2, Set.of("gpt2"), BenchCommand.NAMES);
        String second = BenchMarkdown.rewrite(first, MACHINE, DAY.plusDays(1), gemmRows(200), Set.of("gemm"),
                BenchCommand.NAMES);
        // gemm comes first in the table although it was written second; gpt2's row keeps its own date.
        int gemm = second.indexOf("| `gemm` | 128,768,2304"), gpt = second.indexOf("| `gpt2` | B=1 T=128");
        assertTrue(gemm > 0 && gpt > gemm, second);
        assertTrue(second.contains("| **met** | 2026-11-21 |"), second);
        assertTrue(second.contains("| 0.82 | throughput ratio ≥ 0.9 | **not met** | 2026-11-22 |"), second);
        String third = BenchMarkdown.rewrite(second, MACHINE, DAY.plusDays(2), gemmRows(300), Set.of("gemm"),
                BenchCommand.NAMES);
        assertEquals(1, count(third, "| `gemm` | 128,768,2304"));
        assertTrue(third.contains("| `gpt2` | B=1 T=128"), third);
    }

    @Test
    void rowsFromAnotherMachineAreDropped() {
        List<BenchResult> gpt2 = List.of(BenchResult.compared("gpt2", "B=1 T=128", ms(152.9), "PyTorch", ms(438.0),
                Target.timeAtMost(0.8)));
        String first = BenchMarkdown.rewrite(document(), MACHINE, DAY, gpt2, Set.of("gpt2"), BenchCommand.NAMES);
        Machine other = new Machine("Other CPU", 16, 128, "Test JDK 25");
        String second = BenchMarkdown.rewrite(first, other, DAY, gemmRows(200), Set.of("gemm"), BenchCommand.NAMES);
        assertFalse(second.contains("| `gpt2` |"), second);
        assertTrue(second.contains("Machine: Other CPU, 16 cores"), second);
    }

    @Test
    void aDocumentWithoutMarkersGetsTheBlockBeforeItsFirstSection() {
        String doc = "# Benchmarks\n\nIntro.\n\n## SGEMM\n\ntext\n";
        String out = BenchMarkdown.rewrite(doc, MACHINE, DAY, gemmRows(100), Set.of("gemm"), BenchCommand.NAMES);
        assertTrue(out.startsWith("# Benchmarks\n\nIntro.\n\n" + BenchMarkdown.BEGIN), out);
        assertTrue(out.endsWith(BenchMarkdown.END + "\n\n## SGEMM\n\ntext\n"), out);
        assertEquals(out, BenchMarkdown.rewrite(out, MACHINE, DAY, gemmRows(100), Set.of("gemm"), BenchCommand.NAMES));
    }

    @Test
    void brokenMarkersAreRefusedRatherThanGuessed() {
        String onlyBegin = "# B\n" + BenchMarkdown.BEGIN + "\nrows\n";
        String reversed = "# B\n" + BenchMarkdown.END + "\n" + BenchMarkdown.BEGIN + "\n";
        for (String doc : List.of(onlyBegin, reversed)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BenchMarkdown.rewrite(doc,
                    MACHINE, DAY, gemmRows(100), Set.of("gemm"), BenchCommand.NAMES));
            assertTrue(e.getMessage().contains("bench:begin"), e.getMessage());
        }
    }

    @Test
    void aRunWithNoRowsLeavesThePlaceholder() {
        String out = BenchMarkdown.rewrite(document(), MACHINE, DAY, List.of(), Set.copyOf(BenchCommand.NAMES),
                BenchCommand.NAMES);
        assertEquals(document(), out);
    }

    // ------------------------------------------------------------------ runs without anchors

    @Test
    void gemmWithAnEmptyAnchorsFolderReportsLoupeAloneAndWritesTheTable() throws Exception {
        Path anchors = Files.createDirectory(tmp.resolve("anchors"));
        Path md = tmp.resolve("BENCHMARKS.md");
        Files.writeString(md, document());
        String out = CliRun.of("bench", "gemm", "--shapes", "16,16,16", "--reps", "1", "--anchors", anchors.toString(),
                "--write", "--markdown", md.toString()).ok();
        List<Map<String, Object>> lines = BenchSetup.jsonLines(out);
        assertEquals(2, lines.size(), out);
        assertEquals("loupe", lines.get(0).get("engine"));
        assertEquals(16L, lines.get(0).get("m"));
        Map<String, Object> row = lines.get(1);
        assertEquals("result", row.get("kind"));
        assertEquals("anchor missing", row.get("status"));
        assertEquals(lines.get(0).get("gflops"), row.get("loupe"));
        assertNull(row.get("ratio"));
        assertTrue(row.get("note").toString().contains(anchors.resolve("gemm_openblas.py").toString()), out);
        String doc = Files.readString(md);
        assertTrue(doc.startsWith(PROSE_BEFORE) && doc.endsWith(PROSE_AFTER), doc);
        assertTrue(doc.contains("| `gemm` | 16,16,16 |") && doc.contains("anchor missing: no "), doc);
    }

    /**
     * A stand-in for the Python that runs the anchors: answers the import probe ({@code -c ...}) with success and
     * otherwise prints {@code body}'s output, so the anchor path runs without Python.
     */
    private Path fakePython(String body) throws Exception {
        Path exe = tmp.resolve("python-" + Integer.toHexString(body.hashCode()));
        Files.writeString(exe, "#!/bin/sh\n[ \"$1\" = \"-c\" ] && exit 0\n" + body + "\n");
        assertTrue(exe.toFile().setExecutable(true));
        return exe;
    }

    @Test
    void gemmBesideAStandInAnchorMatchesShapesAndFormsTheRatio() throws Exception {
        Path anchors = Files.createDirectory(tmp.resolve("fake-anchors"));
        Files.writeString(anchors.resolve("gemm_openblas.py"), "# stands in for the real script\n");
        Path python = fakePython("echo 'numpy: some warning'\n"
                + "echo '{\"m\": 24, \"k\": 8, \"n\": 16, \"ms\": 0.5, \"gflops\": 99.0}'\n"
                + "echo '{\"m\": 16, \"k\": 8, \"n\": 24, \"ms\": 0.01, \"gflops\": 0.5}'");
        List<Map<String, Object>> lines = BenchSetup.jsonLines(CliRun.of("bench", "gemm", "--shapes", "16,8,24",
                "--reps", "1", "--anchors", anchors.toString(), "--python", python.toString()).ok());
        assertEquals(List.of("loupe", "openblas", "openblas"), lines.subList(0, 3).stream()
                .map(l -> l.get("engine")).toList());
        Map<String, Object> row = lines.get(3);
        double loupe = ((Number) lines.get(0).get("gflops")).doubleValue();
        assertEquals(0.5, row.get("anchor_value"));
        assertEquals("OpenBLAS", row.get("anchor"));
        assertEquals(Math.round(loupe / 0.5 * 1000) / 1000.0, ((Number) row.get("ratio")).doubleValue(), 1e-9);
        assertEquals(loupe / 0.5 >= 0.9 ? "met" : "not met", row.get("status"));

        Path failing = fakePython("echo 'Traceback: boom' >&2\nexit 3");
        Map<String, Object> failed = BenchSetup.jsonLines(CliRun.of("bench", "gemm", "--shapes", "16,8,24", "--reps",
                "1", "--anchors", anchors.toString(), "--python", failing.toString()).ok()).get(1);
        assertEquals("anchor missing", failed.get("status"));
        assertEquals("anchor failed: exit 3: Traceback: boom", failed.get("note"));
    }

    @Test
    void gpt2AndPatchSweepOnATinyModelWithoutAnchors() throws Exception {
        Gpt2Config config = Gpt2Config.gpt2(2, 16, 2, 64, 32);
        Path model = tmp.resolve("tiny");
        try (Gpt2Model m = new Gpt2Model(config, Gpt2Weights.init(config, new Rng(3)))) {
            m.save(model);
        }
        String anchors = Files.createDirectory(tmp.resolve("none")).toString();
        for (String bench : List.of("gpt2", "gpt2-step")) {
            List<Map<String, Object>> lines = BenchSetup.jsonLines(CliRun.of("bench", bench, "--model",
                    model.toString(), "--batch", "2", "--seq", "5", "--reps", "1", "--warmup", "0", "--anchors",
                    anchors).ok());
            assertEquals(2, lines.size());
            assertEquals(bench.equals("gpt2") ? "fwd" : "step", lines.get(0).get("mode"));
            assertEquals(lines.get(0).get("ms"), lines.get(1).get("loupe"));
            assertEquals("B=2 T=5", lines.get(1).get("case"));
            assertEquals("anchor missing", lines.get(1).get("status"));
        }
        List<Map<String, Object>> lines = BenchSetup.jsonLines(CliRun.of("bench", "patch-sweep", "--model",
                model.toString(), "--seq", "4", "--reps", "1", "--anchors", anchors).ok());
        // incremental, naive, max_abs_diff, then the two rows.
        assertEquals(5, lines.size());
        double inc = ((Number) lines.get(0).get("ms")).doubleValue(), naive = ((Number) lines.get(1).get("ms"))
                .doubleValue();
        assertTrue(((Number) lines.get(2).get("max_abs_diff")).doubleValue() < 1e-4, lines.get(2).toString());
        Map<String, Object> vsNaive = lines.get(3), vsTorch = lines.get(4);
        assertEquals(naive, vsNaive.get("anchor_value"));
        assertEquals(Math.round(naive / inc * 1000) / 1000.0, ((Number) vsNaive.get("ratio")).doubleValue(), 1e-9);
        assertEquals("anchor missing", vsTorch.get("status"));
    }

    @Test
    void gpt2XlWithoutItsCheckpointIsSkippedAndNothingIsCreated() throws Exception {
        Path empty = Files.createDirectory(tmp.resolve("xl"));
        List<Map<String, Object>> lines = BenchSetup.jsonLines(CliRun.of("bench", "gpt2-xl-mapped", "--model",
                empty.toString()).ok());
        assertEquals(1, lines.size());
        assertEquals("skipped", lines.get(0).get("status"));
        String note = lines.get(0).get("note").toString();
        assertTrue(note.startsWith("skipped: checkpoint missing") && note.contains("--create-checkpoint"), note);
        try (var s = Files.list(empty)) {
            assertEquals(0, s.count());
        }
    }

    // ------------------------------------------------------------------ argument errors

    @Test
    void argumentErrorsNameTheBadValue() {
        CliRun.assertUsageError("usage: loupe bench all|gemm", "bench");
        CliRun.assertUsageError("unknown benchmark 'gemmm'", "bench", "gemmm");
        CliRun.assertUsageError("bench all takes only the common flags, not '--shapes'", "bench", "all", "--shapes",
                "8,8,8");
        CliRun.assertUsageError("expected M,K,N (three positive integers) but got '8,8'", "bench", "gemm", "--shapes",
                "8,8");
        CliRun.assertUsageError("--anchors needs a value", "bench", "gemm", "--anchors");
        CliRun.assertUsageError("--threads: expected a positive integer but got '0'", "bench", "gemm", "--threads",
                "0");
        CliRun.assertUsageError("drop --write", "bench", "gemm", "--no-anchor", "--write");
        CliRun.assertUsageError("--mode is gone", "bench", "gpt2", "--mode", "step");
        CliRun.assertUsageError("--batch and --seq go together", "bench", "gpt2", "--batch", "2");
        CliRun.assertUsageError("--differ-at 9 is past the prompt's 4 tokens", "bench", "patch-sweep", "--seq", "4",
                "--differ-at", "9");
        CliRun.assertUsageError("unknown flag '--shape'", "bench", "minilm", "--shape", "3");
        CliRun.assertUsageError("--seq must be >= 1, got 0", "bench", "gpt2-xl-mapped", "--seq", "0");
    }

    private static Figure ms(double v) {
        return new Figure(v, "ms");
    }

    private static Figure gflops(double v) {
        return new Figure(v, "GFLOP/s");
    }

    private static int count(String text, String part) {
        int n = 0;
        for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + 1)) n++;
        return n;
    }
}
