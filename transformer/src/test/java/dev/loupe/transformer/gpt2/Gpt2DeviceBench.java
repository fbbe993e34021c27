package dev.loupe.transformer.gpt2;

import dev.loupe.kernels.Cuda;
import dev.loupe.kernels.CudaBackend;
import dev.loupe.kernels.GemmEngine;
import dev.loupe.kernels.MatmulPrecision;
import dev.loupe.tensor.Autograd;
import dev.loupe.tensor.Device;
import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.train.AdamW;
import dev.loupe.transformer.train.ParamGroup;
import dev.loupe.weights.json.Json;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * GPT-2 forward and training step on a device (issue 8), timed as {@code loupe bench gpt2|gpt2-step} times them on
 * the CPU: fwd = logits [batch, pos, vocab] for every position under {@link Autograd#noGrad()}; step = forward,
 * cross-entropy over all positions against random targets, backward, AdamW (lr 1e-4, weight decay 0.01 on matrices).
 * Each run ends with a scalar read back and a device synchronisation, so the clock stops only when the GPU is done;
 * the figure is the median of {@code --reps} runs after {@code --warmup} untimed ones. One JSON line per precision and
 * case, e.g. {@code {"impl":"loupe","mode":"step","batch":8,"seq":1024,...,"ms":...}}; nothing is asserted.
 *
 * <p>The model is a random GPT-2 small ({@code Gpt2Weights.init(Gpt2Config.gpt2(12, 768, 12, 50257, 1024), new
 * Rng(0))}) moved to the device. It lives in transformer's test classes because it needs the CUDA backend, which
 * transformer takes at test scope; {@code bench/gpu-bundle.sh} ships it. On {@code --device cuda} without a usable
 * device it prints {@code {"impl":"loupe","skipped":reason}} and exits 0.
 *
 * <p>Usage: {@code Gpt2DeviceBench [--device cuda|cpu] [--precision FP32|TF32|BF16]... [--gemm loupe|auto|cublas]
 * [--batch 8] [--seq 1024] [--layers 12] [--d-model 768] [--heads 12] [--vocab 50257] [--reps 5] [--warmup 2]
 * [--cases fwd,step]}. {@code --gemm} defaults to Loupe's own GEMM: the figure is ours, not cuBLAS's.
 */
public final class Gpt2DeviceBench {
    private Gpt2DeviceBench() {
    }

    /** Parsed command line; the defaults are issue 8's case. */
    record Options(String device, List<MatmulPrecision> precisions, GemmEngine gemm, int batch, int seq, int layers,
                   int dModel, int heads, int vocab, int reps, int warmup, List<String> cases) {
        static Options parse(String... args) {
            String device = "cuda";
            List<MatmulPrecision> precisions = new ArrayList<>();
            GemmEngine gemm = GemmEngine.LOUPE;
            int batch = 8, seq = 1024, layers = 12, dModel = 768, heads = 12, vocab = 50257, reps = 5, warmup = 2;
            List<String> cases = List.of("fwd", "step");
            for (int i = 0; i < args.length; i++) {
                String flag = args[i];
                if (i + 1 >= args.length) throw new IllegalArgumentException(flag + ": missing value");
                String v = args[++i];
                switch (flag) {
                    case "--device" -> device = v.toLowerCase(Locale.ROOT);
                    case "--precision" -> precisions.add(precision(v));
                    case "--gemm" -> gemm = GemmEngine.parse(v);
                    case "--batch" -> batch = positive(flag, v);
                    case "--seq" -> seq = positive(flag, v);
                    case "--layers" -> layers = positive(flag, v);
                    case "--d-model" -> dModel = positive(flag, v);
                    case "--heads" -> heads = positive(flag, v);
                    case "--vocab" -> vocab = positive(flag, v);
                    case "--reps" -> reps = positive(flag, v);
                    case "--warmup" -> warmup = Math.max(0, Integer.parseInt(v));
                    case "--cases" -> cases = parseCases(v);
                    default -> throw new IllegalArgumentException("unknown argument " + flag + " (expected --device, "
                            + "--precision, --gemm, --batch, --seq, --layers, --d-model, --heads, --vocab, --reps, "
                            + "--warmup, --cases)");
                }
            }
            if (!device.equals("cpu") && !device.equals("cuda") && !device.equals("cuda:0")) {
                throw new IllegalArgumentException("--device: expected cuda or cpu but got '" + device + "'");
            }
            if (precisions.isEmpty()) precisions.add(MatmulPrecision.FP32);
            if (device.equals("cpu") && !precisions.equals(List.of(MatmulPrecision.FP32))) {
                throw new IllegalArgumentException("--precision " + precisions + ": the CPU multiplies in FP32 only");
            }
            if (dModel % heads != 0) {
                throw new IllegalArgumentException("--d-model " + dModel + " is not a multiple of --heads " + heads);
            }
            return new Options(device, List.copyOf(precisions), gemm, batch, seq, layers, dModel, heads, vocab, reps,
                    warmup, cases);
        }

        /** The same options with one precision, the one a run reports. */
        Options withPrecision(MatmulPrecision p) {
            return new Options(device, List.of(p), gemm, batch, seq, layers, dModel, heads, vocab, reps, warmup,
                    cases);
        }

        /** The model: GPT-2 small's shape by default, the context widened to {@code seq} if longer. */
        Gpt2Config config() {
            return Gpt2Config.gpt2(layers, dModel, heads, vocab, Math.max(1024, seq));
        }
    }

    /**
     * The device the bench runs on and what it can report: a name, the active GEMM, a synchronisation, and the peak
     * device memory (-1 where there is none to report).
     */
    record Target(Device device, String name, String gemm, Runnable sync, Runnable resetPeak, LongSupplier peakBytes) {
        static Target cpu() {
            return new Target(Device.CPU, "cpu", "CPU kernels", () -> { }, () -> { }, () -> -1);
        }

        static Target cuda(CudaBackend gpu) {
            return new Target(gpu.device(), gpu.describe(), gpu.gemmDescription(), gpu::synchronize,
                    gpu::resetPeakMemory, gpu::peakMemoryBytes);
        }
    }

    public static void main(String[] args) {
        Options o = Options.parse(args);
        if (o.device().equals("cpu")) {
            run(o, Target.cpu(), System.out);
            return;
        }
        if (!Cuda.available()) {
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("impl", "loupe");
            line.put("skipped", String.valueOf(Cuda.unavailableReason()));
            System.out.println(Json.write(line));
            return;
        }
        CudaBackend gpu = Cuda.backend();
        gpu.gemmEngine(o.gemm());
        try {
            run(o, Target.cuda(gpu), System.out);
        } finally {
            gpu.matmulPrecision(MatmulPrecision.FP32);
        }
    }

    /**
     * Every precision and case of {@code o} on {@code target}, one JSON line each on {@code out}. The precision is
     * set on the CUDA backend when the target is {@code cuda:0}; one model serves them all (GPT-2 small takes seconds
     * to initialise and upload), so steps of one precision start from the weights the previous left.
     */
    static void run(Options o, Target target, PrintStream out) {
        Gpt2Model m = new Gpt2Model(o.config(), Gpt2Weights.init(o.config(), new Rng(0))).to(target.device());
        for (MatmulPrecision p : o.precisions()) {
            if (target.device().equals(Cuda.device())) Cuda.backend().matmulPrecision(p);
            for (String c : o.cases()) {
                out.println(Json.write(measure(m, c.equals("step"), o.withPrecision(p), target)));
                out.flush();
            }
        }
    }

    /**
     * One case on {@code m} (already on the target's device): the median and fastest of {@code reps} timed runs
     * after {@code warmup} untimed ones, as a JSON-ready map. A step updates {@code m}'s weights in place.
     */
    static Map<String, Object> measure(Gpt2Model m, boolean step, Options o, Target target) {
        Rng rng = new Rng(1);
        int vocab = m.config().dVocab();
        TokenBatch tokens = TokenBatch.of(random(rng, o.batch(), o.seq(), vocab));
        Tensor targets = Tensor.indices(random(rng, o.batch(), o.seq(), vocab)).reshape(o.batch() * o.seq())
                .to(target.device());
        Once once = step ? stepper(m, tokens, targets) : () -> forward(m, tokens);
        float last = Float.NaN;
        for (int r = 0; r < o.warmup(); r++) {
            once.run();
            target.sync().run();
        }
        target.resetPeak().run();
        long[] times = new long[o.reps()];
        for (int r = 0; r < o.reps(); r++) {
            long t = System.nanoTime();
            last = once.run(); // reads a scalar back: waits for the queued work
            target.sync().run();
            times[r] = System.nanoTime() - t;
        }
        Arrays.sort(times);
        double ms = times[o.reps() / 2] / 1e6;
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("impl", "loupe");
        line.put("mode", step ? "step" : "fwd");
        line.put("batch", (long) o.batch());
        line.put("seq", (long) o.seq());
        line.put("layers", (long) m.config().nLayers());
        line.put("d_model", (long) m.config().dModel());
        line.put("vocab", (long) vocab);
        line.put("device", target.name());
        line.put("precision", o.precisions().get(0).name());
        line.put("gemm", target.gemm());
        line.put("reps", (long) o.reps());
        line.put("warmup", (long) o.warmup());
        line.put("ms", round(ms));
        line.put("ms_min", round(times[0] / 1e6));
        line.put("tokens_per_s", Math.round(o.batch() * o.seq() / (ms / 1e3)));
        long peak = target.peakBytes().getAsLong();
        if (peak >= 0) line.put("peak_device_mib", peak >> 20);
        line.put(step ? "loss" : "logit0", Float.isFinite(last) ? (Object) (double) last : "NaN");
        return line;
    }

    /** One timed run; returns a scalar read back from the device. */
    private interface Once {
        float run();
    }

    private static float forward(Gpt2Model m, TokenBatch tokens) {
        try (var scope = Autograd.noGrad()) {
            return m.forward(tokens).get(0, 0, 0);
        }
    }

    /** One training step per call: the optimizer (and its moments) persists across calls, as in a training loop. */
    private static Once stepper(Gpt2Model m, TokenBatch tokens, Tensor targets) {
        m.weights().requireGrad();
        AdamW opt = new AdamW(ParamGroup.split(m.weights().namedLeaves(), ParamGroup.MATRICES, 0.01), 1e-4);
        return () -> {
            Tensor logits = m.forward(tokens);
            Tensor loss = logits.reshape(targets.size(0), logits.size(-1)).crossEntropy(targets);
            opt.zeroGrad();
            loss.backward();
            opt.step();
            return loss.item();
        };
    }

    private static int[][] random(Rng rng, int rows, int cols, int bound) {
        int[][] out = new int[rows][cols];
        for (int[] row : out) for (int j = 0; j < cols; j++) row[j] = rng.nextInt(bound);
        return out;
    }

    private static double round(double ms) {
        return Math.round(ms * 100) / 100.0;
    }

    private static MatmulPrecision precision(String v) {
        try {
            return MatmulPrecision.valueOf(v.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--precision: expected FP32, TF32 or BF16 but got '" + v + "'");
        }
    }

    private static List<String> parseCases(String v) {
        List<String> out = List.of(v.split(","));
        for (String c : out) {
            if (!c.equals("fwd") && !c.equals("step")) {
                throw new IllegalArgumentException("--cases: expected fwd and/or step but got '" + c + "'");
            }
        }
        return out;
    }

    private static int positive(String flag, String v) {
        try {
            int n = Integer.parseInt(v.trim());
            if (n > 0) return n;
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(flag + ": expected a positive integer but got '" + v + "'");
    }
}
