package dev.loupe.cli;

import java.util.List;

/** {@code loupe bench gemm}: C[M,N] = A[M,K] @ B[K,N] throughput. */
final class GemmBench {
    private GemmBench() {
    }

    static int run(List<String> args) {
        throw new UnsupportedOperationException("bench gemm: not yet implemented");
    }
}
