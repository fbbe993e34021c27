package dev.loupe.cli;

import dev.loupe.cli.BenchResult.Figure;
import dev.loupe.cli.BenchResult.Target;
import dev.loupe.interp.patching.ActivationPatching;
import dev.loupe.interp.patching.IncrementalPatching;
import dev.loupe.interp.patching.Metric;
import dev.loupe.interp.patching.Metrics;
import dev.loupe.tensor.Autograd;
import dev.loupe.tensor.Parallel;
import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.hooks.ActivationCache;
import dev.loupe.transformer.hooks.Hooks;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * {@code loupe bench patch-sweep [--model DIR] [--seq T] [--differ-at K] [--reps R]}: a full {@code hook_resid_pre}
 * layer × position denoising sweep (logit difference at the last position) of one prompt of T tokens (default 15),
 * random ids seeded 1, the corrupted prompt differing at position K (default T/2), on the GPT-2 small of
 * {@code bench-out/gpt2-small} unless {@code --model}. Loupe's incremental sweep is timed against one full forward per
 * patch twice: Loupe's naive sweep ({@code ActivationPatching}) and PyTorch's ({@code bench/patch_sweep_torch.py},
 * TransformerLens's {@code run_with_hooks} loop on the anchor's forward). Target: ≥ 5× faster. Each side: the median of
 * R timed sweeps (default 3) after one untimed. A last Loupe line gives the largest difference between its two sweeps.
 *
 * <p>The incremental sweep skips a patch whose values equal the run's own bit for bit: at layer 0 the positions other
 * than K; later layers rarely (the clean run is computed before the JIT has warmed up, so its roundings differ).
 */
final class PatchSweepBench {
    static final String NAME = "patch-sweep";
    private static final Target TARGET = Target.speedupAtLeast(5);

    private PatchSweepBench() {
    }

    static List<BenchResult> run(BenchSetup setup, List<String> args) throws IOException {
        Args a = Args.parse("bench " + NAME, args, Set.of("--model", "--seq", "--differ-at", "--reps"), Set.of());
        int seq = a.intValue("--seq", 15, 2), reps = a.intValue("--reps", 3, 1);
        int differAt = a.intValue("--differ-at", seq / 2, 0);
        if (differAt >= seq) {
            throw new IllegalArgumentException("--differ-at " + differAt + " is past the prompt's " + seq + " tokens");
        }
        Path model = a.has("--model") ? Path.of(a.get("--model")) : Gpt2Bench.smallModel(setup);

        double inc, naive;
        int layers;
        try (Gpt2Model m = Gpt2Model.load(model, Gpt2Model.Placement.HEAP)) {
            layers = m.config().nLayers();
            int vocab = m.config().dVocab();
            Rng rng = new Rng(1);
            int[] clean = new int[seq];
            for (int j = 0; j < seq; j++) clean[j] = rng.nextInt(vocab);
            int[] corrupt = clean.clone();
            corrupt[differAt] = (clean[differAt] + 1) % vocab;
            TokenBatch corrupted = TokenBatch.of(corrupt);
            Metric metric = Metrics.logitDiff(new int[] {rng.nextInt(vocab)}, new int[] {rng.nextInt(vocab)});
            ActivationCache source;
            try (var off = Autograd.noGrad()) {
                source = m.run(TokenBatch.of(clean), Hooks.builder().cache(".*hook_resid_pre").build()).cache();
            }
            ActivationPatching.Stream s = ActivationPatching.Stream.RESID_PRE;
            Tensor[] out = new Tensor[2];
            inc = time(setup, m, seq, differAt, reps, "incremental",
                    () -> out[0] = IncrementalPatching.streamByPosition(m, corrupted, source, s, metric));
            naive = time(setup, m, seq, differAt, reps, "naive",
                    () -> out[1] = ActivationPatching.streamByPosition(m, corrupted, source, s, metric));
            float[] x = out[0].toFloatArray(), y = out[1].toFloatArray();
            double max = 0;
            for (int i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i] - y[i]));
            setup.print(NAME, "loupe", Map.of("max_abs_diff", max));
        }
        if (!setup.withAnchors()) return List.of();

        String label = "resid_pre " + layers + "×" + seq + ", differ at " + differAt;
        Figure ours = new Figure(inc, "ms");
        List<BenchResult> results = new ArrayList<>();
        results.add(BenchResult.compared(NAME, label + ", vs Loupe naive", ours, "Loupe, one forward per patch",
                new Figure(naive, "ms"), TARGET));
        String torchLabel = label + ", vs PyTorch naive";
        Path torchAnchor = setup.anchor("torch_gpt2.py");
        String missing = setup.anchorMissing(torchAnchor, "torch");
        if (missing == null) {
            try {
                Map<String, Object> theirs = setup.runAnchor(List.of(setup.python(),
                        setup.root().resolve("bench").resolve("patch_sweep_torch.py").toString(), "--model",
                        model.toString(), "--seq", Integer.toString(seq), "--differ-at", Integer.toString(differAt),
                        "--reps", Integer.toString(reps)), Map.of("LOUPE_GPT2_ANCHOR", torchAnchor.toString(),
                        "ANCHOR_THREADS", Integer.toString(setup.threads()))).get(0);
                setup.print(NAME, "pytorch", theirs);
                results.add(BenchResult.compared(NAME, torchLabel, ours, Gpt2Bench.anchorName(theirs)
                        + ", one forward per patch", new Figure(BenchSetup.number(theirs, "ms"), "ms"), TARGET));
            } catch (BenchSetup.AnchorFailed e) {
                missing = "anchor failed: " + e.getMessage();
            }
        }
        if (missing != null) {
            results.add(BenchResult.withoutAnchor(NAME, torchLabel, ours, "PyTorch, one forward per patch", TARGET,
                    missing));
        }
        return results;
    }

    /** The median of {@code reps} timed sweeps after one untimed (JIT warm-up), printed as one Loupe line. */
    private static double time(BenchSetup setup, Gpt2Model m, int seq, int differAt, int reps, String method,
                               Supplier<Tensor> sweep) {
        sweep.get();
        double ms = Math.round(Timing.medianMillis(reps, sweep::get) * 10) / 10.0;
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("method", method);
        line.put("layers", (long) m.config().nLayers());
        line.put("seq", (long) seq);
        line.put("differ_at", (long) differAt);
        line.put("patches", (long) m.config().nLayers() * seq);
        line.put("threads", (long) Parallel.threads());
        line.put("ms", ms);
        setup.print(NAME, "loupe", line);
        return ms;
    }
}
