package dev.loupe.transformer.gpt2;

import dev.loupe.tensor.Tensor;
import java.util.Arrays;
import java.util.List;

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

    /**
     * A cache holding given keys and values of {@code past} real (unpadded) positions, e.g. from a run's cached
     * {@code attn.hook_k} / {@code hook_v} narrowed to the first positions, for {@link Gpt2Model#resume}.
     *
     * @param keys   per layer [batch, past, head, d_head]; null for a layer nobody will read
     * @param values per layer, same shapes as {@code keys}
     * @throws IllegalArgumentException if the lists differ in length, no layer is given, or shapes differ
     */
    public static KvCache of(List<Tensor> keys, List<Tensor> values) {
        if (keys.size() != values.size()) {
            throw new IllegalArgumentException(keys.size() + " layers of keys but " + values.size() + " of values");
        }
        KvCache c = new KvCache(keys.size());
        int[] shape = null;
        for (int l = 0; l < keys.size(); l++) {
            Tensor k = keys.get(l), v = values.get(l);
            if ((k == null) != (v == null)) throw new IllegalArgumentException("layer " + l + " has only keys or values");
            if (k == null) continue;
            if (shape == null) shape = k.shape();
            if (k.rank() != 4 || !Arrays.equals(k.shape(), shape) || !Arrays.equals(v.shape(), shape)) {
                throw new IllegalArgumentException("layer " + l + " keys " + Arrays.toString(k.shape()) + " / values "
                        + Arrays.toString(v.shape()) + " do not match " + Arrays.toString(shape)
                        + " ([batch, past, head, d_head])");
            }
            c.keys[l] = k;
            c.values[l] = v;
        }
        if (shape == null || shape[1] == 0) throw new IllegalArgumentException("a KV cache needs a layer with positions");
        int[][] mask = new int[shape[0]][shape[1]];
        for (int[] row : mask) Arrays.fill(row, 1);
        int[] counts = new int[shape[0]];
        Arrays.fill(counts, shape[1]);
        c.keyMask = mask;
        c.realCounts = counts;
        return c;
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
