package dev.loupe.interp.patching;

import dev.loupe.tensor.Tensor;
import java.util.Arrays;

/**
 * Metrics for patching sentence encoders, over embeddings [batch, d_model] such as {@code BertModel}'s pooled (and
 * normalised) output: how far a patch moves an embedding, and whether pairs still retrieve each other.
 */
public final class EncoderMetrics {
    private EncoderMetrics() {
    }

    /**
     * Cosine distance 1 − cos(a, b), row by row (1 for a zero row, whose cosine is taken as 0).
     *
     * @param a [batch, d_model]
     * @param b [batch, d_model]
     * @return [batch]
     */
    public static Tensor cosineDistance(Tensor a, Tensor b) {
        check(a, b, "cosineDistance");
        return a.cosineSimilarity(b, -1, Float.MIN_NORMAL).neg().add(1f);
    }

    /**
     * How much of the distance to a reference a patch removes: (d(ref, before) − d(ref, after)) / d(ref, before),
     * with d the cosine distance; 1 when the patched embedding reaches the reference, 0 when it does not move
     * towards it, negative when it moves away.
     *
     * @param ref    [batch, d_model] the reference (e.g. the clean run's embedding)
     * @param before [batch, d_model] the unpatched embedding
     * @param after  [batch, d_model] the patched embedding
     * @return [batch]
     * @throws IllegalArgumentException if a row's {@code before} already equals its reference (distance 0)
     */
    public static Tensor relativeDistanceChange(Tensor ref, Tensor before, Tensor after) {
        Tensor d0 = cosineDistance(ref, before), d1 = cosineDistance(ref, after);
        float[] v = d0.toFloatArray();
        for (int i = 0; i < v.length; i++) {
            if (v[i] == 0) throw new IllegalArgumentException("row " + i + ": before is at distance 0 from the "
                    + "reference, so no change can be relative to it");
        }
        return d0.sub(d1).div(d0);
    }

    /**
     * Nearest-neighbour retrieval accuracy over pairs: the fraction of rows i whose most cosine-similar row of
     * {@code keys} is row i (ties count as misses unless i is the first of them).
     *
     * @param queries [pairs, d_model]
     * @param keys    [pairs, d_model]
     * @return a scalar in [0, 1]
     */
    public static float retrievalAccuracy(Tensor queries, Tensor keys) {
        check(queries, keys, "retrievalAccuracy");
        Tensor q = queries.div(queries.norm(2f, -1, true)), k = keys.div(keys.norm(2f, -1, true));
        float[] best = q.matmul(k.transpose(0, 1)).argmax(-1, false).toFloatArray();
        int hits = 0;
        for (int i = 0; i < best.length; i++) if ((int) best[i] == i) hits++;
        return hits / (float) best.length;
    }

    private static void check(Tensor a, Tensor b, String what) {
        if (a.rank() != 2 || !Arrays.equals(a.shape(), b.shape())) {
            throw new IllegalArgumentException(what + " expects two [batch, d_model] embeddings of one shape but got "
                    + Arrays.toString(a.shape()) + " and " + Arrays.toString(b.shape()));
        }
    }
}
