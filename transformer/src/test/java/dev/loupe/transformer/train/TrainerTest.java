package dev.loupe.transformer.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.tensor.Autograd;
import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.gpt2.Gpt2Config;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.gpt2.Gpt2Weights;
import dev.loupe.weights.HfConfig;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The training loop: schedule, clipping, that it learns the induction task, checkpoints and resuming. */
class TrainerTest {
    private static final RepeatedTokens TASK = new RepeatedTokens(0, 1, 24, 13, 3, 6, 32);
    private static final Gpt2Config CONFIG = Gpt2Config.gpt2(2, 32, 4, 25, 13).attentionOnly();

    private static Gpt2Model fresh() {
        return new Gpt2Model(CONFIG, Gpt2Weights.init(CONFIG, new Rng(7)));
    }

    @Test
    void scheduleWarmsUpLinearlyThenFollowsTheCosine() {
        TrainConfig c = new TrainConfig(11, 2, 1e-3, 1e-4, 0, 0, 0);
        assertEquals(0.5e-3, c.lrAt(0), 1e-15);
        assertEquals(1e-3, c.lrAt(1), 1e-15);
        assertEquals(1e-3, c.lrAt(2), 1e-15); // cosine at t = 0
        assertEquals(1e-4 + 0.9e-3 * 0.5 * (1 + Math.cos(Math.PI * 3 / 8)), c.lrAt(5), 1e-15);
        assertEquals(1e-4, c.lrAt(10), 1e-15);
    }

    @Test
    void clippingScalesTheGlobalNormDownToTheLimit() {
        Gpt2Model m = fresh();
        Trainer t = new Trainer(m, new TrainConfig(1, 0, 1e-3, 0, 0, 0.01, 0), TASK);
        TrainingData.Batch b = TASK.batch(new Rng(3));
        Tensor logits = m.forward(b.inputs());
        int n = b.inputs().batch() * b.inputs().length();
        logits.reshape(n, 25).crossEntropy(b.targets().reshape(n)).backward();
        double before = t.clipGradients();
        double after = 0;
        for (Tensor p : m.weights().leaves()) for (float x : p.grad().toFloatArray()) after += (double) x * x;
        assertTrue(before > 0.01, "the test needs a gradient above the limit, got " + before);
        assertEquals(0.01, Math.sqrt(after), 1e-6);
    }

    /**
     * Mean loss on the repeated half of a fixed batch: knowing only which 6 tokens the block holds gives ln(6) ≈ 1.79;
     * only copying what followed each token's earlier occurrence brings it below 0.5·ln(24) ≈ 1.59.
     */
    private static double repeatedHalfLoss(Gpt2Model m) {
        TrainingData.Batch b = new RepeatedTokens(0, 1, 24, 13, 6, 6, 64).batch(new Rng(999));
        try (var off = Autograd.noGrad()) {
            Tensor logp = m.forward(b.inputs()).logSoftmax(-1); // [64, 12, 25]
            double sum = 0;
            int count = 0;
            for (int r = 0; r < 64; r++) {
                for (int i = 6; i < 11; i++) { // positions whose next token is a repeat of an earlier one
                    sum -= logp.get(r, i, (int) b.targets().get(r, i));
                    count++;
                }
            }
            return sum / count;
        }
    }

    @Test
    void aShortRunLearnsToCopyOnTheInductionTask() {
        Gpt2Model m = fresh();
        double before = repeatedHalfLoss(m);
        new Trainer(m, new TrainConfig(300, 20, 1e-2, 1e-3, 0.01, 1.0, 5), TASK).run(300, (s, l, lr) -> { });
        double after = repeatedHalfLoss(m);
        assertEquals(Math.log(25), before, 0.1, "an untrained model is near uniform");
        assertTrue(after < 0.5 * Math.log(24), "repeated-half loss " + before + " -> " + after);
    }

    @Test
    void checkpointRoundTripKeepsWeightsAndTheAttentionOnlyFlag(@TempDir Path dir) throws Exception {
        Gpt2Model m = fresh();
        Trainer t = new Trainer(m, new TrainConfig(4, 1, 1e-2, 1e-3, 0.01, 1.0, 5), TASK);
        t.run(3, (s, l, lr) -> { });
        t.save(dir);
        assertEquals(Boolean.TRUE, HfConfig.read(dir).values().get("loupe_attn_only"));
        Gpt2Model back = Gpt2Model.load(dir, Gpt2Model.Placement.HEAP);
        assertEquals(m.config(), back.config());
        Map<String, Tensor> a = m.weights().named(), b = back.weights().named();
        assertEquals(a.keySet(), b.keySet());
        for (String k : a.keySet()) assertArrayEquals(a.get(k).toFloatArray(), b.get(k).toFloatArray(), 0f, k);
        assertEquals(3, Trainer.resume(dir, new TrainConfig(4, 1, 1e-2, 1e-3, 0.01, 1.0, 5), TASK).step());
    }

    @Test
    void resumingGivesTheWeightsOfAnUninterruptedRun(@TempDir Path dir) throws Exception {
        TrainConfig c = new TrainConfig(12, 3, 1e-2, 1e-3, 0.01, 0.5, 11);
        Gpt2Model whole = fresh();
        new Trainer(whole, c, TASK).run(12, (s, l, lr) -> { });

        Trainer first = new Trainer(fresh(), c, TASK);
        first.run(5, (s, l, lr) -> { });
        first.save(dir);
        Trainer second = Trainer.resume(dir, c, TASK);
        second.run(12, (s, l, lr) -> { });

        Map<String, Tensor> a = whole.weights().named(), b = second.model().weights().named();
        for (String k : a.keySet()) {
            float[] x = a.get(k).toFloatArray(), y = b.get(k).toFloatArray();
            for (int i = 0; i < x.length; i++) {
                assertEquals(x[i], y[i], 1e-5f + 1e-4f * Math.abs(x[i]), k + "[" + i + "]");
            }
        }
    }

    @Test
    void weightedLossIsTheWeightedMeanOfPerPositionCrossEntropies() {
        Rng rng = new Rng(21);
        Tensor logits = Tensor.randn(rng, 5, 7).mul(2f).setRequiresGrad(true);
        float[] t = {3, -1, 0, 6, 2}, w = {1, 9, 0.5f, 4, 0};
        Tensor loss = Trainer.weightedCrossEntropy(logits, Tensor.of(t, 5), Tensor.of(w, 5));
        loss.backward();
        float[] x = logits.toFloatArray(), g = logits.grad().toFloatArray();
        double num = 0, den = 0;
        double[][] p = new double[5][7];
        for (int i = 0; i < 5; i++) {
            double max = Double.NEGATIVE_INFINITY, z = 0;
            for (int k = 0; k < 7; k++) max = Math.max(max, x[i * 7 + k]);
            for (int k = 0; k < 7; k++) z += Math.exp(x[i * 7 + k] - max);
            for (int k = 0; k < 7; k++) p[i][k] = Math.exp(x[i * 7 + k] - max) / z;
            if (t[i] < 0) continue; // row 1 is not counted, whatever its weight
            num -= w[i] * Math.log(p[i][(int) t[i]]);
            den += w[i];
        }
        assertEquals(num / den, loss.item(), 1e-5);
        for (int i = 0; i < 5; i++) {
            for (int k = 0; k < 7; k++) { // d/dlogit of w·CE/Σw = w/Σw · (p − onehot)
                double want = t[i] < 0 ? 0 : w[i] / den * (p[i][k] - (k == (int) t[i] ? 1 : 0));
                assertEquals(want, g[i * 7 + k], 1e-6, "grad[" + i + "][" + k + "]");
            }
        }
    }
}
