package dev.loupe.transformer.train;

import dev.loupe.tensor.Rng;

/**
 * The induction task: rows of a BOS token, then a block r of distinct random tokens, then r again and again until
 * the row is full (the last copy cut short). The first copy of r cannot be predicted (loss ln(count) at best); every
 * later token can, by copying what followed the earlier occurrence of the current token, which is what induction
 * heads do. The block length |r| is drawn per row from [minBlock, maxBlock], so the distance back to the earlier
 * occurrence differs between rows and a head that attends a fixed distance back cannot solve the task.
 *
 * <p>Why distinct tokens inside a block: with repeats inside r, an earlier occurrence of the current token would
 * sometimes be followed by a different token, and the model would learn to distrust single-token matches (checking
 * the token before as well). Then it would copy less on the usual induction-score prompts, whose random halves do
 * contain such accidental repeats, than an induction head does in a model trained on text.
 *
 * @param bos      the BOS id (not among the random tokens)
 * @param first    smallest random token id
 * @param count    number of distinct random tokens: ids {@code first .. first + count − 1}
 * @param length   tokens per row, BOS included
 * @param minBlock shortest block
 * @param maxBlock longest block (at most {@code count}, at most {@code length − 1})
 * @param batch    rows per batch
 */
public record RepeatedTokens(int bos, int first, int count, int length, int minBlock, int maxBlock, int batch)
        implements TrainingData {
    public RepeatedTokens {
        if (count < 2 || batch < 1) {
            throw new IllegalArgumentException("need count >= 2 and batch >= 1 but got " + count + ", " + batch);
        }
        if (minBlock < 1 || minBlock > maxBlock || maxBlock > count || maxBlock > length - 1) {
            throw new IllegalArgumentException("need 1 <= minBlock <= maxBlock <= min(count, length - 1) but got "
                    + minBlock + ", " + maxBlock + " with count " + count + ", length " + length);
        }
        if (bos >= first && bos < first + count) {
            throw new IllegalArgumentException("BOS id " + bos + " is among the random tokens " + first + ".."
                    + (first + count - 1));
        }
    }

    /** {@code batch} rows [length], each BOS + r + r + ... with distinct tokens in r. */
    public int[][] rows(Rng rng) {
        int[][] rows = new int[batch][length];
        int[] pool = new int[count];
        for (int[] row : rows) {
            row[0] = bos;
            int len = minBlock + rng.nextInt(maxBlock - minBlock + 1);
            // a partial Fisher–Yates shuffle: the first len entries of pool become the block
            for (int i = 0; i < count; i++) pool[i] = first + i;
            for (int i = 0; i < len; i++) {
                int j = i + rng.nextInt(count - i), t = pool[i];
                pool[i] = pool[j];
                pool[j] = t;
            }
            for (int i = 1; i < length; i++) row[i] = i <= len ? pool[i - 1] : row[i - len];
        }
        return rows;
    }

    /** Next-token batch over {@link #rows}: inputs [batch, length − 1], targets the tokens that follow. */
    @Override
    public Batch batch(Rng rng) {
        return Batch.nextToken(rows(rng));
    }
}
