package dev.loupe.transformer.gpt2;

import dev.loupe.tensor.Tensor;
import java.util.Arrays;

/**
 * Keys and values of the positions a model has already processed, so that generation computes each new token's
 * attention against them instead of re-running the whole prefix. One cache belongs to one generation (one batch of
 * sequences); a call that throws leaves it as it was.
 *
 * <p>Per layer: keys and values [batch, past, head, d_head]; the key mask [batch, past] (1 for real tokens, 0 for
 * padding); and per row the count of real tokens so far (the next position id).
 */
public final class KvCache {
    private final Tensor[] keys, values;
    private int[][] keyMask;   // [batch][past]
    private int[] realCounts;  // [batch]

    KvCache(int layers) {
        keys = new Tensor[layers];
        values = new Tensor[layers];
    }

    /** Positions already cached (padding included); 0 before the first call. */
    public int length() {
        return keyMask == null ? 0 : keyMask[0].length;
    }

    /** Batch rows, or 0 before the first call. */
    public int batch() {
        return keyMask == null ? 0 : keyMask.length;
    }

    /** Layer {@code l}'s cached keys [batch, past, head, d_head]; null before the first call. */
    public Tensor keys(int l) {
        return keys[l];
    }

    /** Layer {@code l}'s cached values [batch, past, head, d_head]; null before the first call. */
    public Tensor values(int l) {
        return values[l];
    }

    int[] realCounts() {
        return realCounts;
    }

    /** 1 when cached position {@code pos} of {@code row} is a real token, 0 for padding. */
    int keyMask(int row, int pos) {
        return keyMask[row][pos];
    }

    /** Replaces the whole state at once (after a successful call), so a failed call changes nothing. */
    void commit(Tensor[] newKeys, Tensor[] newValues, int[][] newMask, int[] newCounts) {
        System.arraycopy(newKeys, 0, keys, 0, keys.length);
        System.arraycopy(newValues, 0, values, 0, values.length);
        keyMask = newMask;
        realCounts = newCounts;
    }

    @Override
    public String toString() {
        return "KvCache[batch=" + batch() + ", length=" + length() + ", real=" + Arrays.toString(realCounts) + "]";
    }
}
