package dev.loupe.kernels;

import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import java.util.Locale;

/**
 * GEMM throughput on the CUDA device at GPT-2-small training shapes (B·T = 8192 rows), one JSON line per shape and
 * precision and engine: {@code {"engine":"loupe","precision":"TF32","m":8192,"n":2304,"k":768,"batch":1,"ms":...,
 * "tflops":...}}. When cuBLAS loads (see {@link GemmEngine}) each Loupe line is followed by cuBLAS's on the same
 * operands, with {@code "vs_cublas"} (Loupe's throughput over cuBLAS's) on it; otherwise a line says why there is no
 * comparison. A benchmark, not a test: it prints figures and asserts nothing. Without a device it prints the probe's
 * reason and exits 0.
 *
 * <p>Usage: {@code GemmBenchmark [--iters N] [--precision FP32|TF32|BF16]...}
 */
public final class GemmBenchmark {
    private GemmBenchmark() {
    }

    /** {m, n, k, batch}: the QKV, attention-out, MLP-in, MLP-out and unembedding products, and attention scores. */
    private static final int[][] SHAPES = {
        {8192, 2304, 768, 1}, {8192, 768, 768, 1}, {8192, 3072, 768, 1}, {8192, 768, 3072, 1},
        {8192, 50257, 768, 1}, {1024, 1024, 64, 96},
    };

    public static void main(String[] args) {
        int iters = 20;
        java.util.List<MatmulPrecision> precisions = new java.util.ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--iters" -> iters = Integer.parseInt(args[++i]);
                case "--precision" -> precisions.add(MatmulPrecision.valueOf(args[++i].toUpperCase(Locale.ROOT)));
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + " (expected --iters N, --precision FP32|TF32|BF16)");
            }
        }
        if (precisions.isEmpty()) precisions.addAll(java.util.List.of(MatmulPrecision.values()));
        if (!Cuda.available()) {
            System.out.println("{\"skipped\":\"" + Cuda.unavailableReason().replace("\"", "'") + "\"}");
            return;
        }
        CudaBackend gpu = Cuda.backend();
        System.out.println("{\"device\":\"" + gpu.describe() + "\"}");
        gpu.gemmEngine(GemmEngine.AUTO);
        boolean compare = gpu.usesCublas();
        if (!compare) System.out.println("{\"cublas\":\"" + gpu.gemmDescription().replace("\"", "'") + "\"}");
        Rng rng = new Rng(1);
        for (int[] s : SHAPES) {
            int m = s[0], n = s[1], k = s[2], batch = s[3];
            Tensor a = Tensor.randn(rng, batch, m, k).to(gpu.device());
            Tensor b = Tensor.randn(rng, batch, k, n).to(gpu.device());
            for (MatmulPrecision p : precisions) {
                gpu.matmulPrecision(p);
                gpu.gemmEngine(GemmEngine.LOUPE);
                double ours = time(gpu, a, b, iters);
                print("loupe", p, s, ours, "");
                if (compare) {
                    gpu.gemmEngine(GemmEngine.CUBLAS);
                    double theirs = time(gpu, a, b, iters);
                    print("cublas", p, s, theirs, String.format(Locale.ROOT, ",\"vs_cublas\":%.2f", theirs / ours));
                }
            }
        }
        gpu.gemmEngine(GemmEngine.fromSystemProperty());
        gpu.matmulPrecision(MatmulPrecision.FP32);
    }

    /** Milliseconds per product, after one warm-up (module JIT, allocator pools). */
    private static double time(CudaBackend gpu, Tensor a, Tensor b, int iters) {
        a.matmul(b);
        gpu.synchronize();
        long t0 = System.nanoTime();
        for (int i = 0; i < iters; i++) a.matmul(b);
        gpu.synchronize();
        return (System.nanoTime() - t0) / 1e6 / iters;
    }

    private static void print(String engine, MatmulPrecision p, int[] s, double ms, String extra) {
        double tflops = 2.0 * s[0] * s[1] * s[2] * s[3] / (ms * 1e-3) / 1e12;
        System.out.printf(Locale.ROOT, "{\"engine\":\"%s\",\"precision\":\"%s\",\"m\":%d,\"n\":%d,\"k\":%d,"
                + "\"batch\":%d,\"ms\":%.3f,\"tflops\":%.2f%s}%n", engine, p, s[0], s[1], s[2], s[3], ms, tflops, extra);
    }
}
