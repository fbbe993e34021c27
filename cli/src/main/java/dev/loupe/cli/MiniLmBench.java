package dev.loupe.cli;

import dev.loupe.cli.BenchResult.Figure;
import dev.loupe.cli.BenchResult.Target;
import dev.loupe.tensor.Autograd;
import dev.loupe.tensor.Parallel;
import dev.loupe.transformer.bert.BertInput;
import dev.loupe.transformer.bert.BertModel;
import dev.loupe.transformer.bert.BuiltIn;
import dev.loupe.transformer.tokenizer.Encoding;
import dev.loupe.transformer.tokenizer.WordPieceTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * {@code loupe bench minilm [--batch 32] [--seq 64] [--warmup-s 8] [--rounds 5] [--calls 4]}: all-MiniLM-L6-v2
 * sentence embeddings (forward, mean pooling, L2 normalisation) of {@code batch} texts of exactly {@code seq} tokens,
 * beside ONNX Runtime Java on the same ONNX file, token ids and thread count. Target: ≥ 0.8× ORT's sentences/s.
 *
 * <p>ONNX Runtime is never on the CLI's classpath: the pair is measured by {@code dev.loupe.jmh.MiniLmVsOrt} in a
 * child JVM on the jmh module's classpath ({@code jmh/target}, which {@code ./loupe} builds), both engines in that one
 * process, their calls alternating in rounds after a shared warm-up, so load from elsewhere hurts neither side more.
 * Without that jar (or under {@code --no-anchor}) Loupe is timed here alone, the same way.
 */
final class MiniLmBench {
    static final String NAME = "minilm";
    private static final Target TARGET = Target.throughputAtLeast(0.8);
    private static final String RUNNER = "dev.loupe.jmh.MiniLmVsOrt";

    private MiniLmBench() {
    }

    static List<BenchResult> run(BenchSetup setup, List<String> args) throws IOException {
        Set<String> flags = Set.of("--batch", "--seq", "--warmup-s", "--rounds", "--calls");
        Args a = Args.parse("bench " + NAME, args, flags, Set.of());
        int batch = a.intValue("--batch", 32, 1), seq = a.intValue("--seq", 64, 3);
        int warmupS = a.intValue("--warmup-s", 8, 0), rounds = a.intValue("--rounds", 5, 1);
        int calls = a.intValue("--calls", 4, 1);
        String label = "batch " + batch + ", seq " + seq;

        String classpath = ortClasspath(setup.root());
        if (!setup.withAnchors() || classpath == null) {
            double ms = loupeAlone(batch, seq, warmupS, rounds * calls);
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("batch", (long) batch);
            line.put("seq", (long) seq);
            line.put("threads", (long) Parallel.threads());
            line.put("calls", (long) rounds * calls);
            line.put("median_ms", Math.round(ms * 100) / 100.0);
            line.put("sentences_per_s", Math.round(batch * 10_000.0 / ms) / 10.0);
            setup.print(NAME, "loupe", line);
            if (!setup.withAnchors()) return List.of();
            return List.of(BenchResult.withoutAnchor(NAME, label, new Figure(batch * 1000.0 / ms, "sentences/s"),
                    "ONNX Runtime", TARGET, "anchor missing: no jmh/target jar with ONNX Runtime (run ./loupe build)"));
        }

        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xss8m", "-cp",
                classpath, RUNNER, "--batch", Integer.toString(batch), "--seq", Integer.toString(seq), "--warmup-s",
                Integer.toString(warmupS), "--rounds", Integer.toString(rounds), "--calls", Integer.toString(calls),
                "--ort-threads", Integer.toString(setup.threads())));
        List<Map<String, Object>> lines;
        try {
            lines = setup.runAnchor(cmd, Map.of("LOUPE_THREADS", Integer.toString(setup.threads())));
        } catch (BenchSetup.AnchorFailed e) {
            // The child measures both engines: if it failed, Loupe's figure is measured here instead.
            double ms = loupeAlone(batch, seq, warmupS, rounds * calls);
            return List.of(BenchResult.withoutAnchor(NAME, label, new Figure(batch * 1000.0 / ms, "sentences/s"),
                    "ONNX Runtime", TARGET, "anchor failed: " + e.getMessage()));
        }
        Figure loupe = null, ort = null;
        for (Map<String, Object> l : lines) {
            Object engine = l.get("engine");
            if ("loupe".equals(engine)) loupe = new Figure(BenchSetup.number(l, "sentences_per_s"), "sentences/s");
            if ("onnxruntime".equals(engine)) ort = new Figure(BenchSetup.number(l, "sentences_per_s"), "sentences/s");
            setup.print(NAME, engine == null ? "compare" : engine.toString(), l);
        }
        if (loupe == null || ort == null) throw new IOException(RUNNER + " printed no line for both engines: " + lines);
        return List.of(BenchResult.compared(NAME, label, loupe, "ONNX Runtime Java", ort, TARGET));
    }

    /** The jmh module's jar and its runtime libraries (ONNX Runtime among them), or null when they are not built. */
    static String ortClasspath(Path root) throws IOException {
        Path target = root.resolve("jmh").resolve("target"), lib = target.resolve("lib");
        if (!Files.isDirectory(lib)) return null;
        Path jar;
        try (Stream<Path> s = Files.list(target)) {
            jar = s.filter(p -> p.getFileName().toString().matches("loupe-jmh-.*\\.jar")).findFirst().orElse(null);
        }
        boolean ort;
        try (Stream<Path> s = Files.list(lib)) {
            ort = s.anyMatch(p -> p.getFileName().toString().startsWith("onnxruntime"));
        }
        return jar == null || !ort ? null : jar + java.io.File.pathSeparator + lib.resolve("*");
    }

    /** Loupe's median milliseconds per batch over {@code calls} timed calls after {@code warmupS} seconds of calls. */
    private static double loupeAlone(int batch, int seq, int warmupS, int calls) throws IOException {
        BuiltIn b = BuiltIn.MINILM;
        BertInput input = input(b.tokenizer(), batch, seq);
        BertModel model = BertModel.builtIn(b.id());
        try (var off = Autograd.noGrad()) {
            long warmEnd = System.nanoTime() + warmupS * 1_000_000_000L;
            do {
                model.embed(input);
            } while (System.nanoTime() < warmEnd);
            return Timing.medianMillis(calls, () -> model.embed(input).toFloatArray());
        }
    }

    /**
     * {@code batch} distinct texts of exactly {@code seq} tokens ([CLS] ... [SEP], no padding), the same texts
     * {@code MiniLmVsOrt} builds, so the figures of both paths are comparable.
     */
    private static BertInput input(WordPieceTokenizer tok, int batch, int seq) {
        String[] words = ("the quick brown fox jumps over a lazy dog while researchers measure how sentence encoders "
                + "represent meaning across many layers of attention and feed forward blocks in small models").split(" ");
        List<Encoding> enc = new ArrayList<>();
        for (int s = 0; s < batch; s++) {
            StringBuilder text = new StringBuilder();
            for (int w = 0; w < 4 * seq; w++) text.append(words[(w * 7 + s * 3) % words.length]).append(' ');
            Encoding e = tok.encode(text.toString(), null, seq);
            if (e.length() != seq) throw new IllegalStateException("text " + s + " encodes to " + e.length() + " < " + seq);
            enc.add(e);
        }
        return BertInput.of(enc);
    }
}
