package dev.loupe.jmh;

import dev.loupe.tensor.Autograd;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Elementwise ops and a row reduction at GPT-2 small activation sizes: [batch, pos, d_model] = [4, 64, 768] and the
 * MLP hidden [4, 64, 3072]. {@code scalarExp} is a plain {@code (float) Math.exp} loop over the same data, as the
 * baseline the SIMD exp is measured against. Run: {@code ./loupe jmh ElementwiseBenchmark}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class ElementwiseBenchmark {
    /** d_model (768) or the MLP width (3072); batch 4, 64 positions. */
    @Param({"768", "3072"})
    public int width;

    private Tensor x, y, bias;
    private float[] raw, rawOut;
    private Autograd.Scope noGrad;

    @Setup
    public void setUp() {
        Rng rng = new Rng(1);
        x = Tensor.randn(rng, 4, 64, width);
        y = Tensor.randn(rng, 4, 64, width);
        bias = Tensor.randn(rng, width);
        raw = x.toFloatArray();
        rawOut = new float[raw.length];
        noGrad = Autograd.noGrad();
    }

    @TearDown
    public void tearDown() {
        noGrad.close();
    }

    /** [4, 64, w] + [4, 64, w]. */
    @Benchmark
    public Tensor add() {
        return x.add(y);
    }

    /** [4, 64, w] * [w]: a broadcast row, as in a LayerNorm gain. */
    @Benchmark
    public Tensor mulBroadcast() {
        return x.mul(bias);
    }

    /** Exact (erf) GELU. */
    @Benchmark
    public Tensor gelu() {
        return x.gelu();
    }

    /** Tanh-approximated GELU (GPT-2). */
    @Benchmark
    public Tensor geluTanh() {
        return x.geluTanh();
    }

    @Benchmark
    public Tensor exp() {
        return x.exp();
    }

    /** Baseline: a scalar {@code Math.exp} loop, single thread. */
    @Benchmark
    public float[] scalarExp() {
        for (int i = 0; i < raw.length; i++) rawOut[i] = (float) Math.exp(raw[i]);
        return rawOut;
    }

    /** Sum over the last dim: [4, 64, w] -> [4, 64]. */
    @Benchmark
    public Tensor sumLastDim() {
        return x.sum(-1);
    }

    /** Sum over batch and positions, as a bias gradient: [4, 64, w] -> [w]. */
    @Benchmark
    public Tensor sumLeadingDims() {
        return x.sum(new int[] {0, 1}, false);
    }
}
