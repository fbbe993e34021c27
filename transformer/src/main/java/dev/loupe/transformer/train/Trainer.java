package dev.loupe.transformer.train;

import dev.loupe.tensor.Autograd;
import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.weights.AtomicFiles;
import dev.loupe.weights.Checkpoint;
import dev.loupe.weights.SafeTensors;
import dev.loupe.weights.json.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Trains a GPT-2-family model in place: each step draws a batch, runs forward and backward on the mean next-token
 * cross-entropy, clips the global gradient norm, (AdamW with betas (0.9, 0.95); matrices decay, biases and
 * LayerNorm parameters do not), sets the scheduled learning rate and takes one AdamW step.
 *
 * <p>Checkpoints are Hugging Face GPT-2 folders ({@link Gpt2Model#save}) with the optimizer's moments beside them
 * ({@code optimizer.safetensors}: {@code m.<i>}, {@code v.<i>} in parameter order) and the step
 * ({@code trainer.json}); {@link #resume} continues such a folder so that the result matches an uninterrupted run
 * with the same config (up to the rounding differences of JIT-compiled reductions). Not thread-safe.
 */
public final class Trainer {
    /** Called after every step with that step's index (0-based), its loss and the learning rate it used. */
    @FunctionalInterface
    public interface Listener {
        void afterStep(int step, float loss, double lr);
    }

    private static final String OPTIMIZER_FILE = "optimizer.safetensors", STATE_FILE = "trainer.json";

    private final Gpt2Model model;
    private final TrainConfig config;
    private final TrainingData data;
    private final AdamW optimizer;
    private int step;

    /**
     * A trainer at step 0 over {@code model}'s weights (which must be float32 leaves on the heap or on a device:
     * {@code Gpt2Weights.init}, a model loaded with {@code Placement.HEAP}, or either moved with
     * {@code Gpt2Model.to(device)}); marks them as requiring gradients. Batches are built on the host and uploaded
     * once per step; forward, backward, clipping and the update run on the weights' device.
     */
    public Trainer(Gpt2Model model, TrainConfig config, TrainingData data) {
        this.model = model;
        this.config = config;
        this.data = data;
        model.weights().requireGrad();
        this.optimizer = new AdamW(ParamGroup.split(model.weights().namedLeaves(), ParamGroup.MATRICES,
                config.weightDecay()), config.lrAt(0), 0.9, 0.95, 1e-8);
    }

    /**
     * Continues the run saved in {@code folder} by {@link #save}: the weights, the optimizer's moments and the step.
     *
     * @throws IOException when a file is missing or does not match the model
     */
    public static Trainer resume(Path folder, TrainConfig config, TrainingData data) throws IOException {
        Gpt2Model model = Gpt2Model.load(folder, Gpt2Model.Placement.HEAP);
        Trainer t = new Trainer(model, config, data);
        Map<?, ?> state = (Map<?, ?>) Json.parse(Files.readString(folder.resolve(STATE_FILE)));
        t.step = ((Number) state.get("step")).intValue();
        List<?> paramSteps = (List<?>) state.get("param_steps");
        List<AdamW.ParamState> saved = new ArrayList<>();
        try (Checkpoint ckpt = SafeTensors.open(folder.resolve(OPTIMIZER_FILE))) {
            for (int i = 0; i < paramSteps.size(); i++) {
                int s = ((Number) paramSteps.get(i)).intValue();
                saved.add(s == 0 ? new AdamW.ParamState(0, null, null)
                        : new AdamW.ParamState(s, ckpt.load("m." + i).toFloatArray(), ckpt.load("v." + i).toFloatArray()));
            }
        }
        try {
            t.optimizer.loadState(saved);
        } catch (IllegalArgumentException e) {
            throw new IOException(folder + ": optimizer state does not match the model: " + e.getMessage(), e);
        }
        return t;
    }

    public Gpt2Model model() {
        return model;
    }

    /** Steps taken so far (the index of the next step). */
    public int step() {
        return step;
    }

    /** Takes steps until {@link TrainConfig#steps()} (or {@code until}, if smaller) is reached. */
    public void run(int until, Listener listener) {
        int end = Math.min(until, config.steps());
        while (step < end) {
            int taken = step; // trainStep advances step
            float loss = trainStep();
            listener.afterStep(taken, loss, config.lrAt(taken));
        }
    }

    /**
     * One step: batch {@code step}, loss, backward, clip, update.
     *
     * @return the batch's mean cross-entropy before the update
     */
    public float trainStep() {
        if (step >= config.steps()) throw new IllegalStateException("the run has " + config.steps() + " steps");
        TrainingData.Batch batch = data.batch(batchRng(config.seed(), step));
        Tensor logits = model.forward(batch.inputs());
        int n = batch.inputs().batch() * batch.inputs().length();
        Tensor flat = logits.reshape(n, logits.size(2)), targets = batch.targets().reshape(n); // host
        Tensor loss = batch.weights() == null ? flat.crossEntropy(targets.to(logits.device()))
                : weightedCrossEntropy(flat, targets, batch.weights().reshape(n));
        loss.backward();
        clipGradients();
        optimizer.setLr(config.lrAt(step));
        optimizer.step();
        optimizer.zeroGrad();
        step++;
        return loss.item();
    }

    /**
     * Σ w·CE / Σ w over the rows with a target ≥ 0: logits [n, vocab], targets and weights [n] (any device; read on the
     * host); a scalar on the logits' device.
     *
     * @throws IllegalArgumentException when no counted row has a positive weight
     */
    static Tensor weightedCrossEntropy(Tensor logits, Tensor targets, Tensor weights) {
        int n = logits.size(0);
        float[] t = targets.toFloatArray(), w = weights.toFloatArray(), idx = new float[n], wn = new float[n];
        double total = 0;
        for (int i = 0; i < n; i++) {
            if (t[i] < 0) continue; // not counted: index 0 with weight 0
            idx[i] = t[i];
            total += w[i];
        }
        if (!(total > 0)) throw new IllegalArgumentException("the batch has no counted position with weight > 0");
        for (int i = 0; i < n; i++) wn[i] = t[i] < 0 ? 0 : (float) (w[i] / total);
        Tensor picked = logits.logSoftmax(1).gather(1, Tensor.of(idx, n, 1).to(logits.device())).reshape(n); // log p(target)
        return picked.mul(Tensor.of(wn, n).to(logits.device())).sum().neg();
    }

    /** The generator of step {@code step}'s batch: a pure function of the seed and the step. */
    static Rng batchRng(long seed, int step) {
        return new Rng(seed * 0x9E3779B97F4A7C15L + step);
    }

    /**
     * Scales every gradient by min(1, clip / ‖g‖) where ‖g‖ is the L2 norm over all of them, on their device: each
     * gradient's sum of squares is reduced there in float32 and only those sums come back (one transfer), to be
     * added in double precision. Returns ‖g‖.
     */
    double clipGradients() {
        List<Tensor> grads = new ArrayList<>();
        for (Tensor p : model.weights().leaves()) {
            if (p.grad() != null) grads.add(p.grad());
        }
        if (grads.isEmpty()) return 0;
        double sq = 0;
        try (var off = Autograd.noGrad()) {
            Tensor[] sums = grads.stream().map(g -> g.mul(g).sum()).toArray(Tensor[]::new);
            for (float x : Tensor.stack(0, sums).toFloatArray()) sq += x;
            double norm = Math.sqrt(sq);
            if (config.clipNorm() > 0 && Double.isFinite(config.clipNorm()) && norm > config.clipNorm()) {
                float scale = (float) (config.clipNorm() / (norm + 1e-6)); // PyTorch's clip_grad_norm_ adds 1e-6 too
                for (Tensor g : grads) g.copyFrom(g.mul(scale));
            }
            return norm;
        }
    }

    /**
     * Writes the model ({@code config.json}, {@code model.safetensors}), the optimizer's moments and the step into
     * {@code folder}, creating it if needed.
     */
    public void save(Path folder) throws IOException {
        model.save(folder);
        Map<String, Tensor> moments = new LinkedHashMap<>();
        List<Integer> paramSteps = new ArrayList<>();
        List<AdamW.ParamState> state = optimizer.state();
        for (int i = 0; i < state.size(); i++) {
            AdamW.ParamState s = state.get(i);
            paramSteps.add(s.steps());
            if (s.m() == null) continue;
            moments.put("m." + i, Tensor.wrap(s.m(), s.m().length));
            moments.put("v." + i, Tensor.wrap(s.v(), s.v().length));
        }
        SafeTensors.write(folder.resolve(OPTIMIZER_FILE), moments, Map.of("format", "loupe-adamw"));
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("step", step);
        json.put("param_steps", paramSteps);
        json.put("seed", config.seed());
        json.put("steps", config.steps());
        AtomicFiles.writeString(folder.resolve(STATE_FILE), Json.write(json, true) + "\n");
    }
}
