package dev.loupe.transformer.gpt2;

import dev.loupe.tensor.Device;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;

/**
 * The additive masks one call's attention adds to its scores: 0 where a query may look, -inf where it may not
 * (future keys, padding keys, keys outside a local window). Built once per call and shared by every layer of a kind.
 *
 * <p>A padding query (left padding) would see no key at all and give a row of NaNs; it attends to itself instead,
 * and {@link #queryValid} then zeroes its pattern row, as TransformerLens shows such rows.
 *
 * <p>Built on the host (they follow from the token mask, which is host data) and uploaded to the model's device once.
 */
final class AttentionMasks {
    /** [1 or batch, 1, query_pos, key_pos] */
    final Tensor global, local;
    /** [batch, 1, query_pos, 1], 1 for real queries and 0 for padding; null when the batch has no padding. */
    final Tensor queryValid;
    final int[][] keyMask; // [batch][past + new]

    private AttentionMasks(Tensor global, Tensor local, Tensor queryValid, int[][] keyMask) {
        this.global = global;
        this.local = local;
        this.queryValid = queryValid;
        this.keyMask = keyMask;
    }

    /**
     * @param batch  the new tokens
     * @param cache  earlier positions, or null
     * @param window local window, or 0 when no layer is local
     * @param device where the masks are used (the model's device)
     */
    static AttentionMasks build(TokenBatch batch, KvCache cache, int window, Device device) {
        int b = batch.batch(), t = batch.length(), past = cache == null ? 0 : cache.length(), total = past + t;
        int[][] keyMask = new int[b][total];
        boolean padded = batch.padded();
        for (int r = 0; r < b; r++) {
            for (int j = 0; j < past; j++) {
                keyMask[r][j] = cache.keyMask(r, j);
                padded |= keyMask[r][j] == 0;
            }
            for (int i = 0; i < t; i++) keyMask[r][past + i] = batch.mask(r, i);
        }
        int rows = padded ? b : 1;
        Tensor global = mask(rows, t, past, keyMask, 0, batch).to(device);
        Tensor local = window > 0 ? mask(rows, t, past, keyMask, window, batch).to(device) : null;
        Tensor queryValid = null;
        if (batch.padded()) {
            float[] v = new float[b * t];
            for (int r = 0; r < b; r++) for (int i = 0; i < t; i++) v[r * t + i] = batch.mask(r, i);
            queryValid = Tensor.of(v, b, 1, t, 1).to(device);
        }
        return new AttentionMasks(global, local, queryValid, keyMask);
    }

    private static Tensor mask(int rows, int t, int past, int[][] keyMask, int window, TokenBatch batch) {
        int total = past + t;
        float[] m = new float[rows * t * total];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < t; i++) {
                int q = past + i, base = (r * t + i) * total;
                boolean realQuery = batch.mask(r, i) == 1;
                for (int j = 0; j < total; j++) {
                    boolean ok = j <= q && (window == 0 || q - j < window);
                    if (realQuery) ok &= keyMask[r][j] == 1;
                    else ok = j == q;
                    m[base + j] = ok ? 0f : Float.NEGATIVE_INFINITY;
                }
            }
        }
        return Tensor.of(m, rows, 1, t, total);
    }
}
