package dev.loupe.cli;

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
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * {@code loupe bench patch-sweep --model DIR [--seq T] [--differ-at K] [--method incremental|naive|both] [--reps R]
 * [--threads N]}: a full {@code hook_resid_pre} layer × position denoising sweep (logit difference at the last
 * position) of one prompt of T tokens (default 15), random ids seeded 1, the corrupted prompt differing at position K
 * (default T/2). The incremental sweep skips a patch whose values equal the run's own bit for bit: at layer 0 the
 * positions other than K; later layers rarely (the clean run is computed before the JIT has warmed up, so its
 * roundings differ); {@code --differ-at 0} leaves it the fewest skips. One JSON line
 * per method, {@code {"bench":"patch-sweep","method":..,"layers":..,"seq":..,"patches":..,"threads":..,"ms":..}},
 * the median of R timed sweeps (default 3) after one untimed; with both, a last line gives the largest difference
 * between the two sweeps' values.
 */
final class PatchSweepBench {
    private static final String USAGE = "usage: loupe bench patch-sweep --model DIR [--seq T] "
            + "[--differ-at K] [--method incremental|naive|both] [--reps R] [--threads N]";

    private PatchSweepBench() {
    }

    static int run(List<String> args) throws Exception {
        Path model = null;
        String method = "both";
        int seq = 15, reps = 3, threads = 0, differAt = -1;
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            if (i + 1 >= args.size()) throw new IllegalArgumentException(arg + " needs a value (" + USAGE + ")");
            String v = args.get(++i);
            switch (arg) {
                case "--model" -> model = Path.of(v);
                case "--seq" -> seq = Gpt2Bench.positive(arg, v);
                case "--differ-at" -> differAt = Gpt2Bench.nonNegative(arg, v);
                case "--reps" -> reps = Gpt2Bench.positive(arg, v);
                case "--threads" -> threads = Gpt2Bench.positive(arg, v);
                case "--method" -> {
                    if (!List.of("incremental", "naive", "both").contains(v)) {
                        throw new IllegalArgumentException("--method: expected incremental, naive or both but got '"
                                + v + "'");
                    }
                    method = v;
                }
                default -> throw new IllegalArgumentException("unknown argument '" + arg + "' (" + USAGE + ")");
            }
        }
        if (model == null) throw new IllegalArgumentException(USAGE);
        if (seq < 2) throw new IllegalArgumentException("--seq: need at least 2 tokens, got " + seq);
        if (differAt < 0) differAt = seq / 2;
        if (differAt >= seq) throw new IllegalArgumentException("--differ-at " + differAt + " is past the prompt's "
                + seq + " tokens");
        if (threads > 0) Gpt2Bench.setThreads(threads);

        try (Gpt2Model m = Gpt2Model.load(model, Gpt2Model.Placement.HEAP)) {
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
            Tensor inc = null, naive = null;
            if (!method.equals("naive")) {
                inc = time(m, seq, differAt, reps, "incremental",
                        () -> IncrementalPatching.streamByPosition(m, corrupted, source, s, metric));
            }
            if (!method.equals("incremental")) {
                naive = time(m, seq, differAt, reps, "naive",
                        () -> ActivationPatching.streamByPosition(m, corrupted, source, s, metric));
            }
            if (inc != null && naive != null) {
                float[] a = inc.toFloatArray(), b = naive.toFloatArray();
                double max = 0;
                for (int i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
                System.out.println(String.format(Locale.ROOT, "{\"bench\":\"patch-sweep\",\"max_abs_diff\":%.3g}",
                        max));
            }
        }
        return 0;
    }

    private static Tensor time(Gpt2Model m, int seq, int differAt, int reps, String method, Supplier<Tensor> sweep) {
        Tensor out = sweep.get(); // untimed: JIT warm-up
        long[] times = new long[reps];
        for (int r = 0; r < reps; r++) {
            long t = System.nanoTime();
            out = sweep.get();
            times[r] = System.nanoTime() - t;
        }
        Arrays.sort(times);
        System.out.println(String.format(Locale.ROOT, "{\"bench\":\"patch-sweep\",\"method\":\"%s\",\"layers\":%d,"
                + "\"seq\":%d,\"differ_at\":%d,\"patches\":%d,\"threads\":%d,\"ms\":%.1f}", method, m.config().nLayers(), seq, differAt,
                m.config().nLayers() * seq, Parallel.threads(), times[reps / 2] / 1e6));
        return out;
    }
}
