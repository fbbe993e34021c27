package dev.loupe.cli;

import dev.loupe.cli.BenchResult.Figure;
import dev.loupe.cli.BenchResult.Target;
import dev.loupe.tensor.Autograd;
import dev.loupe.tensor.Parallel;
import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Config;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.gpt2.Gpt2Weights;
import dev.loupe.transformer.train.AdamW;
import dev.loupe.transformer.train.ParamGroup;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code loupe bench gpt2|gpt2-step [--model DIR] [--batch B --seq T] [--reps R] [--warmup W]
 * [--placement heap|mapped|auto]}: GPT-2 forward (gpt2: logits for every position under {@link Autograd#noGrad()};
 * cases B=1 T=128 and B=4 T=64) or training step (gpt2-step: forward, cross-entropy over all positions against random
 * targets, backward, AdamW with lr 1e-4 and decay 0.01 on matrices; case B=4 T=64), the median of R timed runs after
 * W untimed ones, beside {@code torch_gpt2.py bench} with as many threads. Target: ≤ 0.8× PyTorch's time.
 *
 * <p>The model defaults to a random GPT-2 small in {@code bench-out/gpt2-small}, written by Loupe the first time.
 * Token ids and targets are uniform over the vocabulary from a generator seeded 1, as the anchor draws them (the
 * generators differ, the distribution and the work do not). The Loupe line also gives the heap's limit and peak,
 * which the GPT-2 XL run under {@code -Xmx2g} reports.
 */
final class Gpt2Bench {
    static final String FORWARD = "gpt2";
    static final String STEP = "gpt2-step";
    private static final Target TARGET = Target.timeAtMost(0.8);

    private Gpt2Bench() {
    }

    static List<BenchResult> run(BenchSetup setup, String name, List<String> args) throws IOException {
        boolean step = name.equals(STEP);
        Args a = Args.parse("bench " + name, args,
                Set.of("--model", "--batch", "--seq", "--reps", "--warmup", "--placement", "--mode"),
                Set.of());
        if (a.has("--mode")) {
            throw new IllegalArgumentException("--mode is gone: the forward is 'loupe bench gpt2', the training step "
                    + "'loupe bench gpt2-step'");
        }
        if (a.has("--batch") != a.has("--seq")) throw new IllegalArgumentException("--batch and --seq go together");
        List<int[]> cases = a.has("--batch")
                ? List.<int[]>of(new int[] {positive("--batch", a.get("--batch")), positive("--seq", a.get("--seq"))})
                : step ? List.<int[]>of(new int[] {4, 64}) : List.of(new int[] {1, 128}, new int[] {4, 64});
        int reps = a.has("--reps") ? positive("--reps", a.get("--reps")) : 5;
        int warmup = a.has("--warmup") ? nonNegative("--warmup", a.get("--warmup")) : 3;
        Gpt2Model.Placement placement = a.has("--placement") ? placement(a.get("--placement"))
                : Gpt2Model.Placement.HEAP;
        Path model = a.has("--model") ? Path.of(a.get("--model")) : smallModel(setup);
        if (!Files.isRegularFile(model.resolve("config.json"))) {
            throw new IllegalArgumentException("--model " + model + ": no config.json there");
        }

        Path script = setup.anchor("torch_gpt2.py");
        String missing = setup.withAnchors() ? setup.anchorMissing(script, "torch") : null;
        List<BenchResult> results = new ArrayList<>();
        try (Gpt2Model m = Gpt2Model.load(model, placement)) {
            for (int[] c : cases) {
                Map<String, Object> ours = measure(m, step, c[0], c[1], reps, warmup);
                setup.print(name, "loupe", ours);
                if (!setup.withAnchors()) continue;
                String label = "B=" + c[0] + " T=" + c[1];
                Figure loupe = new Figure(BenchSetup.number(ours, "ms"), "ms");
                if (missing != null) {
                    results.add(BenchResult.withoutAnchor(name, label, loupe, "PyTorch", TARGET, missing));
                    continue;
                }
                try {
                    Map<String, Object> theirs = setup.runAnchor(List.of(setup.python(), script.toString(), "bench",
                            "--model", model.toString(), "--mode", step ? "step" : "fwd", "--batch",
                            Integer.toString(c[0]), "--seq", Integer.toString(c[1]), "--reps", Integer.toString(reps)),
                            Map.of("ANCHOR_THREADS", Integer.toString(setup.threads()))).get(0);
                    setup.print(name, "pytorch", theirs);
                    results.add(BenchResult.compared(name, label, loupe, anchorName(theirs),
                            new Figure(BenchSetup.number(theirs, "ms"), "ms"), TARGET));
                } catch (BenchSetup.AnchorFailed e) {
                    results.add(BenchResult.withoutAnchor(name, label, loupe, "PyTorch", TARGET,
                            "anchor failed: " + e.getMessage()));
                }
            }
        }
        return results;
    }

    /** "PyTorch 1.13.0" from the anchor's {@code "anchor":"pytorch-1.13.0"}. */
    static String anchorName(Map<String, Object> line) {
        return line.get("anchor") instanceof String s && s.startsWith("pytorch-")
                ? "PyTorch " + s.substring("pytorch-".length()) : "PyTorch";
    }

    /**
     * The random GPT-2 small (12 layers, d_model 768, 12 heads, vocab 50257, context 1024) the GPT-2 and patching
     * benchmarks share, written into {@code bench-out/gpt2-small} by Loupe the first time (about 500 MB).
     */
    static Path smallModel(BenchSetup setup) throws IOException {
        Path dir = setup.benchOut().resolve("gpt2-small");
        if (Files.isRegularFile(dir.resolve("model.safetensors"))) return dir;
        System.err.println("bench: writing a random GPT-2 small to " + dir + " (once)");
        Gpt2Config config = Gpt2Config.gpt2(12, 768, 12, 50257, 1024);
        Path tmp = dir.resolveSibling("gpt2-small.partial");
        try (Gpt2Model m = new Gpt2Model(config, Gpt2Weights.init(config, new Rng(0)))) {
            m.save(tmp);
        }
        Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
        return dir;
    }

    /** One case: the median of {@code reps} timed runs after {@code warmup} untimed ones, as one Loupe line. */
    private static Map<String, Object> measure(Gpt2Model m, boolean step, int batch, int seq, int reps, int warmup) {
        int vocab = m.config().dVocab();
        Rng rng = new Rng(1);
        int[][] ids = random(rng, batch, seq, vocab), targets = random(rng, batch, seq, vocab);
        TokenBatch tokens = TokenBatch.of(ids);
        Runnable once = step ? stepper(m, tokens, targets) : () -> forward(m, tokens);
        for (int r = 0; r < warmup; r++) once.run();
        double ms = Timing.medianMillis(reps, once);
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("mode", step ? "step" : "fwd");
        line.put("batch", (long) batch);
        line.put("seq", (long) seq);
        line.put("layers", (long) m.config().nLayers());
        line.put("d_model", (long) m.config().dModel());
        line.put("threads", (long) Parallel.threads());
        line.put("placement", m.mapped() ? "mapped" : "heap");
        line.put("max_heap_mib", Runtime.getRuntime().maxMemory() >> 20);
        line.put("peak_heap_mib", peakHeapMib());
        line.put("ms", Math.round(ms * 10) / 10.0);
        return line;
    }

    /** The sum of the heap pools' peak usage since the JVM started (an upper bound on the peak of their sum). */
    private static long peakHeapMib() {
        long bytes = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP && pool.getPeakUsage() != null) bytes += pool.getPeakUsage().getUsed();
        }
        return bytes >> 20;
    }

    private static void forward(Gpt2Model m, TokenBatch tokens) {
        try (var scope = Autograd.noGrad()) {
            Tensor logits = m.forward(tokens);
            if (Float.isNaN(logits.get(0, 0, 0))) System.err.println("bench gpt2: NaN in the logits");
        }
    }

    /** One training step per call: the optimizer (and its moments) persists across calls, as in a training loop. */
    private static Runnable stepper(Gpt2Model m, TokenBatch tokens, int[][] targets) {
        m.weights().requireGrad();
        AdamW opt = new AdamW(ParamGroup.split(m.weights().namedLeaves(), ParamGroup.MATRICES, 0.01), 1e-4);
        int rows = tokens.batch() * tokens.length();
        Tensor flatTargets = Tensor.indices(targets).reshape(rows);
        return () -> {
            Tensor logits = m.forward(tokens);
            Tensor loss = logits.reshape(rows, logits.size(-1)).crossEntropy(flatTargets);
            opt.zeroGrad();
            loss.backward();
            opt.step();
            if (Float.isNaN(loss.item())) System.err.println("bench gpt2-step: NaN loss");
        };
    }

    private static int[][] random(Rng rng, int rows, int cols, int bound) {
        int[][] out = new int[rows][cols];
        for (int[] row : out) for (int j = 0; j < cols; j++) row[j] = rng.nextInt(bound);
        return out;
    }

    /** Sizes the kernel thread pool; must run before the first tensor op starts it. */
    static void setThreads(int threads) {
        System.setProperty("loupe.threads", Integer.toString(threads));
        if (Parallel.threads() != threads) {
            throw new IllegalStateException("--threads " + threads + ": the thread pool was already started with "
                    + Parallel.threads());
        }
    }

    private static Gpt2Model.Placement placement(String v) {
        try {
            return Gpt2Model.Placement.valueOf(v.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--placement: expected heap, mapped or auto but got '" + v + "'");
        }
    }

    static int positive(String what, String text) {
        int v = nonNegative(what, text);
        if (v == 0) throw new IllegalArgumentException(what + ": expected a positive integer but got '" + text + "'");
        return v;
    }

    static int nonNegative(String what, String text) {
        try {
            int v = Integer.parseInt(text.trim());
            if (v >= 0) return v;
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(what + ": expected a non-negative integer but got '" + text + "'");
    }
}
