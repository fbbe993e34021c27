package dev.loupe.cli;

import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * {@code loupe bench gemm [--shapes M,K,N ...] [--reps R]}: C[M,N] = A[M,K] @ B[K,N] throughput, one JSON line per
 * shape, {@code {"m":..,"k":..,"n":..,"ms":..,"gflops":..}}, with the median of R timed runs. The default shapes match
 * the OpenBLAS anchor ({@code shared/anchors/gemm_openblas.py}) so the two can be compared line by line.
 */
final class GemmBench {
    private static final int[][] DEFAULT_SHAPES = {{128, 768, 2304}, {128, 3072, 768}, {512, 768, 3072},
        {1024, 1024, 1024}};
    /** Warm-up per shape: long enough for C2 to compile the micro-kernel and for the caches to settle. */
    private static final long WARMUP_NANOS = 1_500_000_000L;
    private static final int MIN_WARMUP_RUNS = 5;

    private GemmBench() {
    }

    static int run(List<String> args) {
        List<int[]> shapes = new ArrayList<>();
        int reps = 9;
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            if (arg.equals("--reps")) {
                if (i + 1 >= args.size()) throw new IllegalArgumentException("--reps needs a count");
                reps = parsePositive("--reps", args.get(++i));
            } else if (arg.equals("--shapes")) {
                if (i + 1 >= args.size() || args.get(i + 1).startsWith("--")) {
                    throw new IllegalArgumentException("--shapes needs at least one M,K,N");
                }
                while (i + 1 < args.size() && !args.get(i + 1).startsWith("--")) shapes.add(parseShape(args.get(++i)));
            } else {
                throw new IllegalArgumentException("unknown argument '" + arg
                        + "' (usage: loupe bench gemm [--shapes M,K,N ...] [--reps R])");
            }
        }
        if (shapes.isEmpty()) shapes.addAll(Arrays.asList(DEFAULT_SHAPES));
        for (int[] s : shapes) System.out.println(measure(s[0], s[1], s[2], reps));
        return 0;
    }

    private static int[] parseShape(String text) {
        String[] parts = text.split(",", -1);
        if (parts.length != 3) {
            throw new IllegalArgumentException("--shapes: expected M,K,N (three positive integers) but got '"
                    + text + "'");
        }
        int[] s = new int[3];
        for (int i = 0; i < 3; i++) s[i] = parsePositive("--shapes '" + text + "'", parts[i]);
        return s;
    }

    private static int parsePositive(String what, String text) {
        try {
            int v = Integer.parseInt(text.trim());
            if (v > 0) return v;
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(what + ": expected a positive integer but got '" + text + "'");
    }

    /**
     * Times {@code Tensor.matmul} (the public front end, so the allocation of the output, which every real call
     * pays, is included) and formats one JSON line.
     */
    private static String measure(int m, int k, int n, int reps) {
        Rng rng = new Rng(0);
        Tensor a = Tensor.randn(rng, m, k), b = Tensor.randn(rng, k, n);
        double sink = 0;
        long start = System.nanoTime();
        for (int i = 0; i < MIN_WARMUP_RUNS || System.nanoTime() - start < WARMUP_NANOS; i++) {
            sink += a.matmul(b).get(0, 0);
        }
        long[] times = new long[reps];
        for (int r = 0; r < reps; r++) {
            long t = System.nanoTime();
            Tensor c = a.matmul(b);
            times[r] = System.nanoTime() - t;
            sink += c.get(0, 0);
        }
        if (Double.isNaN(sink)) System.err.println("bench gemm: NaN in the result");
        Arrays.sort(times);
        double ms = times[reps / 2] / 1e6;
        double gflops = 2.0 * m * k * n / (ms * 1e6);
        return String.format(Locale.ROOT, "{\"m\":%d,\"k\":%d,\"n\":%d,\"ms\":%.3f,\"gflops\":%.1f}",
                m, k, n, ms, gflops);
    }
}
