package dev.loupe.interp.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.interp.patching.Metrics;
import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Config;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.gpt2.Gpt2Weights;
import dev.loupe.transformer.train.RepeatedTokens;
import dev.loupe.transformer.train.TrainConfig;
import dev.loupe.transformer.train.Trainer;
import dev.loupe.transformer.train.TrainingData;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * Attribution patching against activation patching on a model trained here in seconds: a two-layer GPT-2 (with
 * MLPs) that learns the induction task, probed with clean repeated sequences against ones whose earlier copy of the
 * answer was changed, so that the induction circuit now predicts the other token.
 */
class AttributionCheckTest {
    /** BOS + a block of 7 distinct tokens + the same 7: the earlier copy of position p's answer sits at p − 7. */
    private static final int BLOCK = 7;
    private static final RepeatedTokens TASK = new RepeatedTokens(0, 1, 16, 1 + 2 * BLOCK, BLOCK, BLOCK, 16);
    /** TASK's batches with the loss on the repeated half only (the first copy cannot be predicted): learns faster. */
    private static final TrainingData TRAINING = rng -> {
        TrainingData.Batch b = TASK.batch(rng);
        float[] targets = b.targets().toFloatArray();
        int positions = b.inputs().length();
        for (int i = 0; i < targets.length; i++) if (i % positions < BLOCK) targets[i] = -1;
        return new TrainingData.Batch(b.inputs(), Tensor.of(targets, b.targets().shape()));
    };

    @Test
    void pearsonIsTheTextbookFormula() {
        // means 2.5 and 5; Σ dx·dy = 11, Σ dx² = 5, Σ dy² = 26
        assertEquals(11 / Math.sqrt(5 * 26), AttributionCheck.pearson(Tensor.of(new float[] {1, 2, 3, 4}, 2, 2),
                Tensor.of(new float[] {2, 4, 5, 9}, 2, 2)), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> AttributionCheck.pearson(Tensor.ones(3), Tensor.ones(3)));
        assertThrows(IllegalArgumentException.class, () -> AttributionCheck.pearson(Tensor.ones(3), Tensor.ones(4)));
        // the report's variant shows "no correlation" as NaN instead of failing
        assertTrue(Double.isNaN(AttributionCheck.pearsonOrNaN(Tensor.ones(3), Tensor.arange(3))));
        assertThrows(IllegalArgumentException.class, () -> AttributionCheck.pearsonOrNaN(Tensor.ones(3),
                Tensor.ones(4)));
    }

    @Test
    void onASmallTrainedModelAttributionTracksActivationPatching() {
        Gpt2Config c = Gpt2Config.gpt2(2, 32, 4, 17, 16);
        Gpt2Model model = new Gpt2Model(c, Gpt2Weights.init(c, new Rng(5)));
        TrainConfig training = new TrainConfig(250, 25, 3e-3, 3e-4, 0.01, 1.0, 5);
        new Trainer(model, training, TRAINING).run(training.steps(), (step, loss, lr) -> { });

        int[][] rows = TASK.rows(new Rng(99));
        int n = 8, len = rows[0].length - 1; // drop the last token: the last position predicts it
        int[][] clean = new int[n][], corrupt = new int[n][];
        int[] answer = new int[n], other = new int[n];
        for (int i = 0; i < n; i++) {
            clean[i] = Arrays.copyOf(rows[i], len);
            corrupt[i] = clean[i].clone();
            answer[i] = rows[i][len];
            other[i] = 1 + (answer[i] - 1 + 1 + i % 15) % 16; // a different random-token id
            corrupt[i][BLOCK] = other[i];                    // the earlier copy of the answer
        }
        AttributionCheck.Result r = AttributionCheck.compare(model, TokenBatch.of(clean), TokenBatch.of(corrupt),
                Metrics.logitDiff(answer, other), true);
        System.out.printf("small induction model: logit diff clean %.3f corrupted %.3f; r heads %.4f, resid %.4f, "
                + "edges %.4f (%d)%n", r.cleanMetric(), r.corruptedMetric(), r.headOutputs(), r.residPre(), r.edges(),
                r.edgeCount());
        assertTrue(r.cleanMetric() > 1 && r.corruptedMetric() < -1, "the model does induction: " + r);
        assertTrue(r.headOutputs() > 0.9, "head outputs: " + r);
        assertTrue(r.residPre() > 0.9, "resid_pre: " + r);
        assertTrue(r.edges() > 0.8, "edges: " + r);
    }
}
