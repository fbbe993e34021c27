package dev.loupe.interp.detect;

import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;

/**
 * Reference attention patterns [query pos, key pos] of one prompt, 1 where a head of the kind would attend and 0
 * elsewhere, always causal (no weight above the diagonal); and the repeated-random-token prompts they are usually
 * measured on.
 */
public final class DetectionPatterns {
    private DetectionPatterns() {
    }

    /** Position i attends to i − 1 (row 0 has no target). [pos, pos] */
    public static Tensor previousToken(int[] tokens) {
        int n = tokens.length;
        float[] d = new float[n * n];
        for (int i = 1; i < n; i++) d[i * n + i - 1] = 1;
        return Tensor.of(d, n, n);
    }

    /** Position i attends to every earlier j with the same token. [pos, pos] */
    public static Tensor duplicateToken(int[] tokens) {
        return induction(tokens, 0);
    }

    /**
     * Position i attends to j + offset for every earlier copy j &lt; i of token i with j + offset ≤ i: offset 1 is
     * the token after the earlier copy (TransformerLens's and Olsson et al.'s induction pattern), 0 the copy itself
     * (which is the duplicate-token pattern). [pos, pos]
     *
     * @throws IllegalArgumentException for a negative offset
     */
    public static Tensor induction(int[] tokens, int offset) {
        if (offset < 0) throw new IllegalArgumentException("offset must be >= 0 but was " + offset);
        int n = tokens.length;
        float[] d = new float[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < i; j++) {
                if (tokens[j] == tokens[i] && j + offset <= i) d[i * n + j + offset] = 1;
            }
        }
        return Tensor.of(d, n, n);
    }

    /**
     * Olsson et al.'s prefix matching on a prompt of BOS + r + r with |r| = {@code half}: a position i of the second
     * copy attends to i − half + 1, the token that followed the first occurrence of its token. Unlike
     * {@link #induction} this looks at positions only, so accidental repeats inside r do not add targets.
     * [1 + 2·half, 1 + 2·half]
     */
    public static Tensor prefixMatching(int half) {
        if (half < 1) throw new IllegalArgumentException("half must be >= 1 but was " + half);
        int n = 1 + 2 * half;
        float[] d = new float[n * n];
        for (int i = 1 + half; i < n; i++) d[i * n + i - half + 1] = 1;
        return Tensor.of(d, n, n);
    }

    /**
     * {@code batch} prompts of a BOS token followed by {@code half} random tokens drawn uniformly from
     * {@code first .. first + count − 1} and the same tokens again: [batch][1 + 2·half].
     */
    public static int[][] repeatedRandomTokens(Rng rng, int batch, int half, int bos, int first, int count) {
        if (batch < 1 || half < 1 || count < 1) {
            throw new IllegalArgumentException("need batch, half, count >= 1 but got " + batch + ", " + half + ", "
                    + count);
        }
        int[][] rows = new int[batch][1 + 2 * half];
        for (int[] row : rows) {
            row[0] = bos;
            for (int i = 0; i < half; i++) row[1 + i] = row[1 + half + i] = first + rng.nextInt(count);
        }
        return rows;
    }
}
