package dev.loupe.jmh;

import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * C[M,N] = A[M,K] @ B[K,N] through {@code Tensor.matmul} (output allocation included, as in real use), plus the
 * transposed-operand layouts the backward pass uses. GFLOP/s = 2*M*K*N / (time per op). Run:
 * {@code ./loupe jmh GemmBenchmark}, or {@code -p shape=128x768x2304} for one shape (JMH splits -p values at commas,
 * hence the x).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class GemmBenchmark {
    /** MxKxN: the shapes of the OpenBLAS anchor (GPT-2 small projections at 128/512 tokens, and a square one). */
    @Param({"128x768x2304", "128x3072x768", "512x768x3072", "1024x1024x1024"})
    public String shape;

    private Tensor a, b, aT, bT;

    @Setup
    public void setUp() {
        String[] s = shape.split("x");
        int m = Integer.parseInt(s[0]), k = Integer.parseInt(s[1]), n = Integer.parseInt(s[2]);
        Rng rng = new Rng(0);
        a = Tensor.randn(rng, m, k);
        b = Tensor.randn(rng, k, n);
        aT = Tensor.randn(rng, k, m).transpose(0, 1); // [m, k] view, column-major
        bT = Tensor.randn(rng, n, k).transpose(0, 1); // [k, n] view, column-major
    }

    /** Both operands row-major (the forward pass). */
    @Benchmark
    public Tensor matmul() {
        return a.matmul(b);
    }

    /** A transposed, as in a weight gradient x^T @ dy. */
    @Benchmark
    public Tensor matmulTransposedA() {
        return aT.matmul(b);
    }

    /** B transposed, as in an input gradient dy @ W^T. */
    @Benchmark
    public Tensor matmulTransposedB() {
        return a.matmul(bT);
    }
}
