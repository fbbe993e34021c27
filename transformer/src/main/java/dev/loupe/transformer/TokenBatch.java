package dev.loupe.transformer;

import dev.loupe.tensor.Tensor;
import java.util.Arrays;
import java.util.List;

/**
 * A batch of token sequences of one length, with an attention mask marking real tokens (1) and padding (0).
 * Immutable: the arrays are copied in and out.
 *
 * <p>Shapes: {@code tokens} and {@code mask} are [batch, pos]. Models give padded positions no attention from real
 * tokens, and derive position ids from the mask (the count of real tokens before a position), so a left-padded
 * sequence gets the same positions, and the same logits at its real tokens, as it would alone.
 */
public final class TokenBatch {
    private final int[][] tokens;
    private final int[][] mask; // null when every position is real

    private TokenBatch(int[][] tokens, int[][] mask) {
        this.tokens = tokens;
        this.mask = mask;
    }

    /** Unpadded rows of equal length. */
    public static TokenBatch of(int[]... rows) {
        if (rows.length == 0) throw new IllegalArgumentException("a batch needs at least one sequence");
        int len = rows[0].length;
        int[][] t = new int[rows.length][];
        for (int i = 0; i < rows.length; i++) {
            if (rows[i].length != len) {
                throw new IllegalArgumentException("sequence " + i + " has " + rows[i].length + " tokens but sequence 0 "
                        + "has " + len + "; use TokenBatch.leftPadded or rightPadded for ragged batches");
            }
            t[i] = rows[i].clone();
        }
        return new TokenBatch(t, null);
    }

    /** Tokens with an explicit mask, both [batch, pos] (1 = real token, 0 = padding). */
    public static TokenBatch withMask(int[][] tokens, int[][] mask) {
        TokenBatch b = of(tokens);
        if (mask.length != tokens.length) {
            throw new IllegalArgumentException("mask has " + mask.length + " rows but tokens have " + tokens.length);
        }
        int[][] m = new int[mask.length][];
        for (int i = 0; i < mask.length; i++) {
            if (mask[i].length != b.length()) {
                throw new IllegalArgumentException("mask row " + i + " has " + mask[i].length + " entries, expected "
                        + b.length());
            }
            for (int v : mask[i]) {
                if (v != 0 && v != 1) throw new IllegalArgumentException("mask entries must be 0 or 1, got " + v);
            }
            m[i] = mask[i].clone();
        }
        return new TokenBatch(b.tokens, m);
    }

    /** Ragged rows padded on the left with {@code padId} to the longest: the layout generation continues from. */
    public static TokenBatch leftPadded(List<int[]> rows, int padId) {
        return padded(rows, padId, true);
    }

    /** Ragged rows padded on the right with {@code padId} to the longest. */
    public static TokenBatch rightPadded(List<int[]> rows, int padId) {
        return padded(rows, padId, false);
    }

    private static TokenBatch padded(List<int[]> rows, int padId, boolean left) {
        if (rows.isEmpty()) throw new IllegalArgumentException("a batch needs at least one sequence");
        int len = rows.stream().mapToInt(r -> r.length).max().orElseThrow();
        int[][] t = new int[rows.size()][len], m = new int[rows.size()][len];
        boolean anyPad = false;
        for (int i = 0; i < rows.size(); i++) {
            int[] r = rows.get(i);
            int start = left ? len - r.length : 0;
            Arrays.fill(t[i], padId);
            System.arraycopy(r, 0, t[i], start, r.length);
            Arrays.fill(m[i], start, start + r.length, 1);
            anyPad |= r.length < len;
        }
        return new TokenBatch(t, anyPad ? m : null);
    }

    public int batch() {
        return tokens.length;
    }

    /** Positions per row (padding included). */
    public int length() {
        return tokens[0].length;
    }

    /** True when some position is padding. */
    public boolean padded() {
        return mask != null;
    }

    /** Token id at [row, pos]. */
    public int token(int row, int pos) {
        return tokens[row][pos];
    }

    /** 1 for a real token at [row, pos], 0 for padding. */
    public int mask(int row, int pos) {
        return mask == null ? 1 : mask[row][pos];
    }

    /** A copy of row {@code row}'s ids, padding included. */
    public int[] row(int row) {
        return tokens[row].clone();
    }

    /** Token ids as an index tensor, [batch, pos]. */
    public Tensor ids() {
        return Tensor.indices(tokens);
    }

    /**
     * Position ids [batch, pos]: for each position, the number of real tokens before it in its row, plus
     * {@code offset[row]} (the real tokens already processed, when continuing from a KV cache; null for none).
     * Padding positions get the position of the next real token (0 before the first), as Hugging Face does.
     */
    public int[][] positions(int[] offset) {
        int[][] p = new int[batch()][length()];
        for (int b = 0; b < batch(); b++) {
            int seen = offset == null ? 0 : offset[b];
            for (int i = 0; i < length(); i++) {
                p[b][i] = seen;
                if (mask(b, i) == 1) seen++;
            }
        }
        return p;
    }

    /** A batch of the same rows with {@code next} (one id per row) appended as real tokens: for generation. */
    public TokenBatch append(int[] next) {
        if (next.length != batch()) {
            throw new IllegalArgumentException("append: " + next.length + " ids for a batch of " + batch());
        }
        int[][] t = new int[batch()][], m = mask == null ? null : new int[batch()][];
        for (int b = 0; b < batch(); b++) {
            t[b] = Arrays.copyOf(tokens[b], length() + 1);
            t[b][length()] = next[b];
            if (m != null) {
                m[b] = Arrays.copyOf(mask[b], length() + 1);
                m[b][length()] = 1;
            }
        }
        return new TokenBatch(t, m);
    }

    /** The last {@code n} positions of every row (tokens and mask): the new part of a sequence a KV cache extends. */
    public TokenBatch tail(int n) {
        if (n < 1 || n > length()) throw new IllegalArgumentException("tail: " + n + " of " + length() + " positions");
        int[][] t = new int[batch()][], m = mask == null ? null : new int[batch()][];
        for (int b = 0; b < batch(); b++) {
            t[b] = Arrays.copyOfRange(tokens[b], length() - n, length());
            if (m != null) m[b] = Arrays.copyOfRange(mask[b], length() - n, length());
        }
        return new TokenBatch(t, m);
    }

    @Override
    public String toString() {
        return "TokenBatch[batch=" + batch() + ", pos=" + length() + (padded() ? ", padded" : "") + "]";
    }
}
