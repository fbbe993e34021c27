package dev.loupe.cli;

import dev.loupe.cli.BenchResult.Figure;
import dev.loupe.cli.BenchResult.Target;
import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code loupe bench gemm [--shapes M,K,N ...] [--reps R]}: C[M,N] = A[M,K] @ B[K,N] throughput, one Loupe line per
 * shape ({@code "m","k","n","ms","gflops"}) with the median of R timed runs after a warm-up, then the OpenBLAS anchor
 * ({@code gemm_openblas.py}, NumPy) on the same shapes with as many threads. Target: ≥ 0.9× the anchor's GFLOP/s.
 */
final class GemmBench {
    static final String NAME = "gemm";
    private static final String USAGE = "usage: loupe bench gemm [--shapes M,K,N ...] [--reps R]";
    private static final int[][] DEFAULT_SHAPES = {{128, 768, 2304}, {128, 3072, 768}, {512, 768, 3072},
        {1024, 1024, 1024}};
    private static final Target TARGET = Target.throughputAtLeast(0.9);
    /** Warm-up per shape: long enough for C2 to compile the micro-kernel and for the caches to settle. */
    private static final long WARMUP_NANOS = 1_500_000_000L;
    private static final int MIN_WARMUP_RUNS = 5;

    private GemmBench() {
    }

    static List<BenchResult> run(BenchSetup setup, List<String> args) throws IOException {
        List<int[]> shapes = new ArrayList<>();
        int reps = 9;
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            if (arg.equals("--reps")) {
                if (i + 1 >= args.size()) throw new IllegalArgumentException("--reps needs a count");
                reps = Gpt2Bench.positive("--reps", args.get(++i));
            } else if (arg.equals("--shapes")) {
                if (i + 1 >= args.size() || args.get(i + 1).startsWith("--")) {
                    throw new IllegalArgumentException("--shapes needs at least one M,K,N");
                }
                while (i + 1 < args.size() && !args.get(i + 1).startsWith("--")) shapes.add(parseShape(args.get(++i)));
            } else {
                throw new IllegalArgumentException("unknown argument '" + arg + "' (" + USAGE + ")");
            }
        }
        if (shapes.isEmpty()) shapes.addAll(Arrays.asList(DEFAULT_SHAPES));

        List<Map<String, Object>> ours = new ArrayList<>();
        for (int[] s : shapes) {
            Map<String, Object> line = measure(s[0], s[1], s[2], reps);
            setup.print(NAME, "loupe", line);
            ours.add(line);
        }
        if (!setup.withAnchors()) return List.of();

        Path script = setup.anchor("gemm_openblas.py");
        String missing = setup.anchorMissing(script, "numpy");
        List<Map<String, Object>> theirs = List.of();
        if (missing == null) {
            List<String> cmd = new ArrayList<>(List.of(setup.python(), script.toString()));
            for (int[] s : shapes) cmd.add(s[0] + "," + s[1] + "," + s[2]);
            cmd.addAll(List.of("--reps", Integer.toString(reps), "--threads", Integer.toString(setup.threads())));
            try {
                theirs = setup.runAnchor(cmd, Map.of());
                for (Map<String, Object> t : theirs) setup.print(NAME, "openblas", t);
            } catch (BenchSetup.AnchorFailed e) {
                missing = "anchor failed: " + e.getMessage();
            }
        }
        List<BenchResult> results = new ArrayList<>();
        for (Map<String, Object> o : ours) {
            String label = o.get("m") + "," + o.get("k") + "," + o.get("n");
            Figure loupe = new Figure(BenchSetup.number(o, "gflops"), "GFLOP/s");
            Map<String, Object> match = null;
            for (Map<String, Object> t : theirs) {
                if (o.get("m").equals(t.get("m")) && o.get("k").equals(t.get("k")) && o.get("n").equals(t.get("n"))) {
                    match = t;
                }
            }
            if (match != null) {
                results.add(BenchResult.compared(NAME, label, loupe, "OpenBLAS",
                        new Figure(BenchSetup.number(match, "gflops"), "GFLOP/s"), TARGET));
            } else {
                results.add(BenchResult.withoutAnchor(NAME, label, loupe, "OpenBLAS", TARGET,
                        missing != null ? missing : "anchor failed: no line for " + label));
            }
        }
        return results;
    }

    private static int[] parseShape(String text) {
        String[] parts = text.split(",", -1);
        if (parts.length != 3) {
            throw new IllegalArgumentException("--shapes: expected M,K,N (three positive integers) but got '"
                    + text + "'");
        }
        int[] s = new int[3];
        for (int i = 0; i < 3; i++) s[i] = Gpt2Bench.positive("--shapes '" + text + "'", parts[i]);
        return s;
    }

    /**
     * Times {@code Tensor.matmul} (the public front end, so the allocation of the output, which every real call
     * pays, is included): the median of {@code reps} runs after the warm-up.
     */
    private static Map<String, Object> measure(int m, int k, int n, int reps) {
        Rng rng = new Rng(0);
        Tensor a = Tensor.randn(rng, m, k), b = Tensor.randn(rng, k, n);
        double sink = 0;
        long start = System.nanoTime();
        for (int i = 0; i < MIN_WARMUP_RUNS || System.nanoTime() - start < WARMUP_NANOS; i++) {
            sink += a.matmul(b).get(0, 0);
        }
        Tensor[] last = new Tensor[1]; // read outside the timed calls, so the JIT cannot drop the product
        double ms = Timing.medianMillis(reps, () -> last[0] = a.matmul(b));
        sink += last[0].get(0, 0);
        if (Double.isNaN(sink)) System.err.println("bench gemm: NaN in the result");
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("m", (long) m);
        line.put("k", (long) k);
        line.put("n", (long) n);
        line.put("ms", Math.round(ms * 1000) / 1000.0);
        line.put("gflops", Math.round(2.0 * m * k * n / (ms * 1e6) * 10) / 10.0);
        return line;
    }
}
