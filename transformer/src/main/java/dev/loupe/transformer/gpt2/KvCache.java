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
 *
 * <p>Keys and values live in per-layer storage [batch, capacity, head, d_head] with room beyond {@code past}, which
 * doubles (up to the context length) when a call needs more: appending a token writes only its own slot, so a
 * generation of n tokens copies O(n) positions in all, not O(n²) as re-concatenating the whole cache each step would.
 * {@link #keys}/{@link #values} are views of the filled part; positions once filled are never written again.
 */
public final class KvCache {
    private final Tensor[] keyStore, valueStore; // per layer [batch, capacity, head, d_head]
    private final boolean[] owned; // false for storage given to of(): never written into
    private final Tensor[] keys, values; // per layer, the filled part [batch, past, head, d_head] of the storage
    private int[][] keyMask;   // [batch][past]
    private int[] realCounts;  // [batch]

    /** Keys and values of one layer for one call: the cached and new positions, and the storage that holds them. */
    record Staged(Tensor keyStore, Tensor valueStore, Tensor keys, Tensor values) {
    }

    KvCache(int layers) {
        keyStore = new Tensor[layers];
        valueStore = new Tensor[layers];
        owned = new boolean[layers];
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
            c.keys[l] = c.keyStore[l] = k;
            c.values[l] = c.valueStore[l] = v;
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

    /**
     * Layer {@code l}'s keys and values for the cached positions followed by {@code k}, {@code v} [batch, new, head,
     * d_head]: the new ones written into free storage after the cached ones (fresh storage, twice as large or the
     * context length, when there is no room or the storage is not this cache's own). The visible state is unchanged
     * until {@link #commit}, so a call that fails afterwards leaves the cache as it was.
     *
     * @param maxLength the model's context length: storage never grows past it
     * @return the storage to commit, and keys/values [batch, past + new, head, d_head]; when {@code k} or {@code v}
     *     needs a gradient, those are the detached cache concatenated with them, so the gradient reaches them
     */
    Staged stage(int l, Tensor k, Tensor v, int maxLength) {
        int past = length(), needed = past + k.size(1);
        Tensor ks = keyStore[l], vs = valueStore[l];
        if (past > 0 && ks == null) throw new IllegalStateException("the KV cache has no keys for layer " + l);
        if (ks == null || !owned[l] || ks.size(1) < needed) {
            int capacity = Math.max(needed, Math.min(maxLength, 2 * (ks == null ? 0 : ks.size(1))));
            ks = grow(ks, past, capacity, k);
            vs = grow(vs, past, capacity, v);
        }
        ks.narrow(1, past, k.size(1)).copyFrom(k.detach());
        vs.narrow(1, past, v.size(1)).copyFrom(v.detach());
        if (k.requiresGrad() || v.requiresGrad()) {
            if (past == 0) return new Staged(ks, vs, k, v);
            return new Staged(ks, vs, Tensor.cat(1, ks.narrow(1, 0, past), k),
                    Tensor.cat(1, vs.narrow(1, 0, past), v));
        }
        return new Staged(ks, vs, ks.narrow(1, 0, needed), vs.narrow(1, 0, needed));
    }

    /** Fresh storage [batch, capacity, head, d_head] on {@code like}'s device, holding {@code old}'s first positions. */
    private static Tensor grow(Tensor old, int past, int capacity, Tensor like) {
        Tensor fresh = Tensor.zeros(like.device(), like.size(0), capacity, like.size(2), like.size(3));
        if (past > 0) fresh.narrow(1, 0, past).copyFrom(old.narrow(1, 0, past));
        return fresh;
    }

    /**
     * Replaces the whole state at once (after a successful call), so a failed call changes nothing.
     *
     * @param stores per layer, what {@link #stage} returned; the new length is that of {@code newMask}'s rows
     */
    void commit(Staged[] stores, int[][] newMask, int[] newCounts) {
        int length = newMask[0].length;
        for (int l = 0; l < keys.length; l++) {
            keyStore[l] = stores[l].keyStore();
            valueStore[l] = stores[l].valueStore();
            owned[l] = true;
            keys[l] = keyStore[l].narrow(1, 0, length);
            values[l] = valueStore[l].narrow(1, 0, length);
        }
        keyMask = newMask;
        realCounts = newCounts;
    }

    @Override
    public String toString() {
        return "KvCache[batch=" + batch() + ", length=" + length() + ", real=" + Arrays.toString(realCounts) + "]";
    }
}
