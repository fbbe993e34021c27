package dev.loupe.transformer.train;

import dev.loupe.tensor.Rng;

/**
 * The induction task: rows of a BOS token, {@code half} uniformly random tokens, and the same tokens again. The
 * first half cannot be predicted (loss ln(vocab)); the second half can, by copying what followed the earlier copy of
 * the current token, which is what induction heads do.
 *
 * @param bos   the BOS id (not among the random tokens)
 * @param first smallest random token id
 * @param count number of distinct random tokens: ids {@code first .. first + count − 1}
 * @param half  random tokens per row (the row has 1 + 2·half tokens)
 * @param batch rows per batch
 */
public record RepeatedTokens(int bos, int first, int count, int half, int batch) implements TrainingData {
    public RepeatedTokens {
        if (count < 2 || half < 1 || batch < 1) {
            throw new IllegalArgumentException("need count >= 2, half >= 1, batch >= 1 but got " + count + ", " + half
                    + ", " + batch);
        }
        if (bos >= first && bos < first + count) {
            throw new IllegalArgumentException("BOS id " + bos + " is among the random tokens " + first + ".."
                    + (first + count - 1));
        }
    }

    /** {@code batch} rows [1 + 2·half], each BOS + r + r for random r. */
    public int[][] rows(Rng rng) {
        int[][] rows = new int[batch][1 + 2 * half];
        for (int[] row : rows) {
            row[0] = bos;
            for (int i = 0; i < half; i++) {
                row[1 + i] = first + rng.nextInt(count);
                row[1 + half + i] = row[1 + i];
            }
        }
        return rows;
    }

    /** Next-token batch over {@link #rows}: inputs [batch, 2·half], targets the tokens that follow. */
    @Override
    public Batch batch(Rng rng) {
        return Batch.nextToken(rows(rng));
    }
}
