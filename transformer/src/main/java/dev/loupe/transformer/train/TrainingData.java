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
     * One language-modelling batch: the inputs and, per input position, the token to predict (−1: not counted).
     *
     * @param inputs  tokens [batch, pos]
     * @param targets index tensor [batch, pos]
     */
    record Batch(TokenBatch inputs, Tensor targets) {
        public Batch {
            if (targets.rank() != 2 || targets.size(0) != inputs.batch() || targets.size(1) != inputs.length()) {
                throw new IllegalArgumentException("targets " + java.util.Arrays.toString(targets.shape())
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
