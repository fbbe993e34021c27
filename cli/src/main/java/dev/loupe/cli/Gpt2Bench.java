package dev.loupe.cli;

import dev.loupe.tensor.Autograd;
import dev.loupe.tensor.Parallel;
import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.train.AdamW;
import dev.loupe.transformer.train.ParamGroup;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * {@code loupe bench gpt2 --model DIR --mode fwd|step --batch B --seq T [--reps R] [--warmup W] [--threads N]
 * [--placement heap|mapped|auto]}: one JSON line, {@code {"bench":"gpt2","mode":..,"batch":..,"seq":..,"layers":..,
 * "d_model":..,"threads":..,"ms":..}}, the median of R timed runs after W untimed ones, comparable line by line with
 * {@code shared/anchors/torch_gpt2.py bench}.
 *
 * <p>fwd: logits for every position under {@link Autograd#noGrad()}. step: forward, cross-entropy over all positions
 * against random targets, backward, AdamW (lr 1e-4, PyTorch's defaults otherwise, decay 0.01 on matrices). Token ids
 * and targets are uniform over the vocabulary from a generator seeded 1, as the anchor draws them (the generators
 * differ, the distribution and the work do not).
 */
final class Gpt2Bench {
    private static final String USAGE = "usage: loupe bench gpt2 --model DIR --mode fwd|step --batch B --seq T "
            + "[--reps R] [--warmup W] [--threads N] [--placement heap|mapped|auto]";

    private Gpt2Bench() {
    }

    static int run(List<String> args) throws Exception {
        Path model = null;
        String mode = null;
        int batch = 0, seq = 0, reps = 5, warmup = 3, threads = 0;
        Gpt2Model.Placement placement = Gpt2Model.Placement.HEAP;
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            if (i + 1 >= args.size()) throw new IllegalArgumentException(arg + " needs a value (" + USAGE + ")");
            String v = args.get(++i);
            switch (arg) {
                case "--model" -> model = Path.of(v);
                case "--mode" -> {
                    if (!v.equals("fwd") && !v.equals("step")) {
                        throw new IllegalArgumentException("--mode: expected fwd or step but got '" + v + "'");
                    }
                    mode = v;
                }
                case "--batch" -> batch = positive(arg, v);
                case "--seq" -> seq = positive(arg, v);
                case "--reps" -> reps = positive(arg, v);
                case "--warmup" -> warmup = nonNegative(arg, v);
                case "--threads" -> threads = positive(arg, v);
                case "--placement" -> placement = placement(v);
                default -> throw new IllegalArgumentException("unknown argument '" + arg + "' (" + USAGE + ")");
            }
        }
        if (model == null || mode == null || batch == 0 || seq == 0) throw new IllegalArgumentException(USAGE);
        if (threads > 0) setThreads(threads);

        try (Gpt2Model m = Gpt2Model.load(model, placement)) {
            int vocab = m.config().dVocab();
            Rng rng = new Rng(1);
            int[][] ids = random(rng, batch, seq, vocab), targets = random(rng, batch, seq, vocab);
            TokenBatch tokens = TokenBatch.of(ids);
            Runnable once = mode.equals("fwd") ? () -> forward(m, tokens) : stepper(m, tokens, targets);
            for (int r = 0; r < warmup; r++) once.run();
            long[] times = new long[reps];
            for (int r = 0; r < reps; r++) {
                long t = System.nanoTime();
                once.run();
                times[r] = System.nanoTime() - t;
            }
            Arrays.sort(times);
            System.out.println(String.format(Locale.ROOT, "{\"bench\":\"gpt2\",\"mode\":\"%s\",\"batch\":%d,"
                    + "\"seq\":%d,\"layers\":%d,\"d_model\":%d,\"threads\":%d,\"placement\":\"%s\",\"ms\":%.1f}",
                    mode, batch, seq, m.config().nLayers(), m.config().dModel(), Parallel.threads(),
                    m.mapped() ? "mapped" : "heap", times[reps / 2] / 1e6));
        }
        return 0;
    }

    private static void forward(Gpt2Model m, TokenBatch tokens) {
        try (var scope = Autograd.noGrad()) {
            Tensor logits = m.forward(tokens);
            if (Float.isNaN(logits.get(0, 0, 0))) System.err.println("bench gpt2: NaN in the logits");
        }
    }

    /** One training step per call: the optimizer (and its moments) persists across calls, as in a training loop. */
    private static Runnable stepper(Gpt2Model m, TokenBatch tokens, int[][] targets) {
        m.weights().requireGrad();
        AdamW opt = new AdamW(ParamGroup.split(m.weights().namedLeaves(), ParamGroup.MATRICES, 0.01), 1e-4);
        int rows = tokens.batch() * tokens.length();
        Tensor flatTargets = Tensor.indices(targets).reshape(rows);
        return () -> {
            Tensor logits = m.forward(tokens);
            Tensor loss = logits.reshape(rows, logits.size(-1)).crossEntropy(flatTargets);
            opt.zeroGrad();
            loss.backward();
            opt.step();
            if (Float.isNaN(loss.item())) System.err.println("bench gpt2: NaN loss");
        };
    }

    private static int[][] random(Rng rng, int rows, int cols, int bound) {
        int[][] out = new int[rows][cols];
        for (int[] row : out) for (int j = 0; j < cols; j++) row[j] = rng.nextInt(bound);
        return out;
    }

    /** Sizes the kernel thread pool; must run before the first tensor op starts it. */
    static void setThreads(int threads) {
        System.setProperty("loupe.threads", Integer.toString(threads));
        if (Parallel.threads() != threads) {
            throw new IllegalStateException("--threads " + threads + ": the thread pool was already started with "
                    + Parallel.threads());
        }
    }

    private static Gpt2Model.Placement placement(String v) {
        try {
            return Gpt2Model.Placement.valueOf(v.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--placement: expected heap, mapped or auto but got '" + v + "'");
        }
    }

    static int positive(String what, String text) {
        int v = nonNegative(what, text);
        if (v == 0) throw new IllegalArgumentException(what + ": expected a positive integer but got '" + text + "'");
        return v;
    }

    static int nonNegative(String what, String text) {
        try {
            int v = Integer.parseInt(text.trim());
            if (v >= 0) return v;
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(what + ": expected a non-negative integer but got '" + text + "'");
    }
}
