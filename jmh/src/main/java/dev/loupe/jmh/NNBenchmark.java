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
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Softmax over attention scores [batch 4, heads 12, query 64, key 64] (last dim) and layerNorm over GPT-2-small
 * activations [rows 256, d_model 768], forward only and forward + backward, through the public {@link Tensor} API
 * (so output allocation and, for the backward, graph recording are included).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class NNBenchmark {
    private Tensor scores;
    private Tensor scoresGrad;
    private Tensor x;
    private Tensor weight;
    private Tensor bias;
    private Tensor xGrad;

    @Setup
    public void setUp() {
        Rng rng = new Rng(42);
        scores = Tensor.randn(rng, 4, 12, 64, 64);
        scoresGrad = Tensor.randn(rng, 4, 12, 64, 64);
        x = Tensor.randn(rng, 256, 768);
        weight = Tensor.randn(rng, 768);
        bias = Tensor.randn(rng, 768);
        xGrad = Tensor.randn(rng, 256, 768);
    }

    @Benchmark
    public Tensor softmax() {
        return scores.softmax(-1);
    }

    @Benchmark
    public Tensor softmaxForwardBackward() {
        Tensor s = scores.detach().setRequiresGrad(true);
        s.softmax(-1).backward(scoresGrad);
        return s.grad();
    }

    @Benchmark
    public Tensor layerNorm() {
        return x.layerNorm(weight, bias, 1e-5f);
    }

    @Benchmark
    public Tensor layerNormForwardBackward() {
        Tensor in = x.detach().setRequiresGrad(true);
        Tensor w = weight.detach().setRequiresGrad(true);
        Tensor b = bias.detach().setRequiresGrad(true);
        in.layerNorm(w, b, 1e-5f).backward(xGrad);
        return in.grad();
    }
}
