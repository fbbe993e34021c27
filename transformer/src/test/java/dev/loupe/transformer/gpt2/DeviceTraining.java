package dev.loupe.transformer.gpt2;

import static dev.loupe.transformer.gpt2.TestModels.assertCloseRel;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.tensor.Device;
import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.generate.Generation;
import dev.loupe.transformer.generate.GenerationConfig;
import dev.loupe.transformer.generate.Generator;
import dev.loupe.transformer.hooks.Hooks;
import dev.loupe.transformer.train.ParamGroup;
import dev.loupe.transformer.train.RepeatedTokens;
import dev.loupe.transformer.train.SGD;
import dev.loupe.transformer.train.TrainConfig;
import dev.loupe.transformer.train.Trainer;
import dev.loupe.transformer.train.TrainingData;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Training and generation of a tiny GPT-2 (2 layers, d_model 32, MLPs, tied unembedding) on a device, each returning
 * host copies of what it produced, so the same run on the CPU is the reference: {@link Trainer} steps (AdamW with
 * weight decay on matrices, warm-up, and a clip limit far below the gradient norm, so clipping scales every step),
 * SGD with Nesterov momentum and weight decay, and greedy generation with a KV cache.
 */
final class DeviceTraining {
    private DeviceTraining() {
    }

    static final Gpt2Config CONFIG = Gpt2Config.gpt2(2, 32, 4, 13, 13);
    private static final RepeatedTokens TASK = new RepeatedTokens(0, 1, 12, 13, 6, 6, 8);

    /** The losses of each step and every parameter after the last, on the host. */
    record Run(float[] losses, Map<String, Tensor> params) {
    }

    private static Gpt2Model fresh(long seed, Device device) {
        return new Gpt2Model(CONFIG, Gpt2Weights.init(CONFIG, new Rng(seed))).to(device);
    }

    private static Map<String, Tensor> hostParams(Gpt2Model m) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        m.weights().namedLeaves().forEach((n, t) -> {
            assertEquals(m.device(), t.device(), n + " stayed on the model's device");
            out.put(n, t.detach().to(Device.CPU));
        });
        return out;
    }

    /** {@code steps} {@link Trainer} steps (AdamW, lr 1e-3 after a 2-step warm-up, clip norm 1e-3). */
    static Run trainer(long seed, Device device, int steps) {
        Gpt2Model m = fresh(seed, device);
        Trainer t = new Trainer(m, new TrainConfig(steps, 2, 1e-3, 1e-4, 0.1, 1e-3, seed), TASK);
        float[] losses = new float[steps];
        t.run(steps, (s, loss, lr) -> losses[s] = loss);
        return new Run(losses, hostParams(m));
    }

    /** {@code steps} SGD steps (lr 0.05, Nesterov momentum 0.9, weight decay 0.01 on matrices) by hand. */
    static Run sgd(long seed, Device device, int steps) {
        Gpt2Model m = fresh(seed, device);
        m.weights().requireGrad();
        SGD opt = new SGD(ParamGroup.split(m.weights().namedLeaves(), ParamGroup.MATRICES, 0.01), 0.05, 0.9, true);
        float[] losses = new float[steps];
        for (int s = 0; s < steps; s++) {
            TrainingData.Batch b = TASK.batch(new Rng(seed + s));
            Tensor logits = m.forward(b.inputs());
            int n = b.inputs().batch() * b.inputs().length();
            Tensor loss = logits.reshape(n, CONFIG.dVocab()).crossEntropy(b.targets().reshape(n).to(device));
            loss.backward();
            opt.step();
            opt.zeroGrad();
            losses[s] = loss.item();
        }
        return new Run(losses, hostParams(m));
    }

    /** Greedy continuations (6 tokens) of three left-padded prompts. */
    static List<int[]> greedy(long seed, Device device) {
        Gpt2Model m = fresh(seed, device);
        List<int[]> prompts = List.of(new int[] {0, 3, 5, 7}, new int[] {0, 9}, new int[] {0, 2, 4, 6, 8, 10});
        List<int[]> out = new ArrayList<>();
        for (Generation g : new Generator(m).generate(prompts, GenerationConfig.greedy(6), Hooks.none())) {
            out.add(g.tokens());
        }
        return out;
    }

    /**
     * Holds {@code got} to {@code want}: losses, and every parameter within {@code rtol} of its largest |value|
     * (0: bit for bit); the run must also have moved the parameters away from their initial values.
     */
    static void compare(Run want, Run got, Run initial, double rtol) {
        assertEquals(want.losses().length, got.losses().length);
        for (int s = 0; s < want.losses().length; s++) {
            assertEquals(want.losses()[s], got.losses()[s], rtol * Math.abs(want.losses()[s]), "loss of step " + s);
        }
        assertEquals(want.params().keySet(), got.params().keySet(), "parameters");
        want.params().forEach((n, t) -> assertCloseRel(t, got.params().get(n), rtol, n + " after training"));
        boolean moved = false;
        for (String n : want.params().keySet()) {
            float[] a = initial.params().get(n).toFloatArray(), b = want.params().get(n).toFloatArray();
            for (int i = 0; i < a.length && !moved; i++) moved = a[i] != b[i];
        }
        assertTrue(moved, "training changed the parameters");
    }

    /** The untrained parameters of {@link #fresh}, for {@link #compare}. */
    static Run initial(long seed) {
        return new Run(new float[0], hostParams(fresh(seed, Device.CPU)));
    }

    static void compareTokens(List<int[]> want, List<int[]> got) {
        assertEquals(want.size(), got.size());
        for (int i = 0; i < want.size(); i++) assertArrayEquals(want.get(i), got.get(i), "row " + i);
    }
}
