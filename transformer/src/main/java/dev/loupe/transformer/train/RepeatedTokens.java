package dev.loupe.transformer.train;

import dev.loupe.tensor.Rng;

/**
 * The induction task: rows of a BOS token, uniformly random tokens r, and the same tokens again. The first copy
 * cannot be predicted (loss ln(count)); the second can, by copying what followed the earlier copy of the current
 * token, which is what induction heads do. With {@code minHalf < half} each row draws |r| from
 * [minHalf, half] and starts with 2·(half − |r|) random tokens, so the distance between the copies varies and a
 * head that attends a fixed distance back cannot solve the task.
 *
 * @param bos   the BOS id (not among the random tokens)
 * @param first smallest random token id
 * @param count number of distinct random tokens: ids {@code first .. first + count − 1}
 * @param half  longest copied segment (the row has 1 + 2·half tokens)
 * @param minHalf shortest copied segment (equal to {@code half}: every row is BOS + r + r)
 * @param batch rows per batch
 */
public record RepeatedTokens(int bos, int first, int count, int half, int minHalf, int batch) implements TrainingData {
    public RepeatedTokens {
        if (minHalf < 1 || minHalf > half) {
            throw new IllegalArgumentException("need 1 <= minHalf <= half but got " + minHalf + ", " + half);
        }
        if (count < 2 || half < 1 || batch < 1) {
            throw new IllegalArgumentException("need count >= 2, half >= 1, batch >= 1 but got " + count + ", " + half
                    + ", " + batch);
        }
        if (bos >= first && bos < first + count) {
            throw new IllegalArgumentException("BOS id " + bos + " is among the random tokens " + first + ".."
                    + (first + count - 1));
        }
    }

    /** {@code batch} rows [1 + 2·half], each BOS + random prefix + r + r. */
    public int[][] rows(Rng rng) {
        int[][] rows = new int[batch][1 + 2 * half];
        for (int[] row : rows) {
            row[0] = bos;
            int len = minHalf + rng.nextInt(half - minHalf + 1), start = 1 + 2 * (half - len);
            for (int i = 1; i < start; i++) row[i] = first + rng.nextInt(count);
            for (int i = 0; i < len; i++) {
                row[start + i] = first + rng.nextInt(count);
                row[start + len + i] = row[start + i];
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
