package dev.loupe.kernels;

import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import java.util.Locale;

/**
 * GEMM throughput on the CUDA device at GPT-2-small training shapes (B·T = 8192 rows), one JSON line per shape and
 * precision: {@code {"precision":"TF32","m":8192,"n":2304,"k":768,"batch":1,"ms":...,"tflops":...}}. A benchmark,
 * not a test: it prints figures and asserts nothing. Without a device it prints the probe's reason and exits 0.
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
        Rng rng = new Rng(1);
        for (int[] s : SHAPES) {
            int m = s[0], n = s[1], k = s[2], batch = s[3];
            Tensor a = gpu.upload(Tensor.randn(rng, batch, m, k)), b = gpu.upload(Tensor.randn(rng, batch, k, n));
            for (MatmulPrecision p : precisions) {
                gpu.matmulPrecision(p);
                a.matmul(b); // warm-up: JIT of the module, allocator pools
                gpu.synchronize();
                long t0 = System.nanoTime();
                for (int i = 0; i < iters; i++) a.matmul(b);
                gpu.synchronize();
                double ms = (System.nanoTime() - t0) / 1e6 / iters;
                double tflops = 2.0 * m * n * k * batch / (ms * 1e-3) / 1e12;
                System.out.printf(Locale.ROOT,
                        "{\"precision\":\"%s\",\"m\":%d,\"n\":%d,\"k\":%d,\"batch\":%d,\"ms\":%.3f,\"tflops\":%.2f}%n",
                        p, m, n, k, batch, ms, tflops);
            }
        }
        gpu.matmulPrecision(MatmulPrecision.FP32);
    }
}
