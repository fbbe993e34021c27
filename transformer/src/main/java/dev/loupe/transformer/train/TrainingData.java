package dev.loupe.transformer.train;

import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;

/**
 * Where training batches come from: one batch per step, drawn with the generator the trainer gives for that step,
 * so the data order depends only on the seed and the step.
 */
@FunctionalInterface
public interface TrainingData {
    /**
     * One language-modelling batch: the inputs, per input position the token to predict (−1: not counted), and
     * optionally a weight per position: the loss is then Σ w·CE / Σ w over the counted positions instead of the plain
     * mean (e.g. to stress the one token of a row that the task is about).
     *
     * @param inputs  tokens [batch, pos]
     * @param targets index tensor [batch, pos]
     * @param weights [batch, pos], each ≥ 0, or null for the plain mean
     */
    record Batch(TokenBatch inputs, Tensor targets, Tensor weights) {
        public Batch {
            requireBatchShape("targets", targets, inputs);
            if (weights != null) {
                requireBatchShape("weights", weights, inputs);
                for (float w : weights.toFloatArray()) {
                    if (!(w >= 0)) throw new IllegalArgumentException("loss weights must be >= 0 but one is " + w);
                }
            }
        }

        /** A batch with the plain mean loss (no weights). */
        public Batch(TokenBatch inputs, Tensor targets) {
            this(inputs, targets, null);
        }

        private static void requireBatchShape(String what, Tensor t, TokenBatch inputs) {
            if (t.rank() != 2 || t.size(0) != inputs.batch() || t.size(1) != inputs.length()) {
                throw new IllegalArgumentException(what + " " + java.util.Arrays.toString(t.shape())
                        + " must be [batch, pos] = [" + inputs.batch() + ", " + inputs.length() + "]");
            }
        }

        /** Next-token prediction over whole sequences: inputs are {@code rows[:, :-1]}, targets {@code rows[:, 1:]}. */
        public static Batch nextToken(int[][] rows) {
            int b = rows.length, p = rows[0].length - 1;
            int[][] in = new int[b][];
            float[] t = new float[b * p];
            for (int r = 0; r < b; r++) {
                if (rows[r].length != p + 1) throw new IllegalArgumentException("row " + r + " has " + rows[r].length
                        + " tokens, row 0 has " + (p + 1));
                in[r] = java.util.Arrays.copyOf(rows[r], p);
                for (int i = 0; i < p; i++) t[r * p + i] = rows[r][i + 1];
            }
            return new Batch(TokenBatch.of(in), Tensor.of(t, b, p));
        }
    }

    /** The batch of one step. */
    Batch batch(Rng rng);
}
