package dev.loupe.interp.patching;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.loupe.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** The encoder metrics against their definitions computed by hand in double precision. */
class EncoderMetricsTest {
    private static final Tensor A = Tensor.of(new float[] {1, 0, 0, 2, 2, 1}, 2, 3);
    private static final Tensor B = Tensor.of(new float[] {1, 1, 0, -2, -2, -1}, 2, 3);

    @Test
    void cosineDistanceIsOneMinusTheCosine() {
        Tensor d = EncoderMetrics.cosineDistance(A, B);
        assertEquals(1 - 1 / Math.sqrt(2), d.get(0), 1e-6);
        assertEquals(2, d.get(1), 1e-6); // opposite directions
    }

    @Test
    void relativeDistanceChangeIsTheShareOfTheDistanceRemoved() {
        Tensor ref = Tensor.of(new float[] {1, 0, 0, 0, 1, 0}, 2, 3);
        Tensor before = Tensor.of(new float[] {0, 1, 0, 1, 0, 0}, 2, 3);    // distance 1 each
        Tensor after = Tensor.of(new float[] {1, 1, 0, 0, -1, 0}, 2, 3);    // halfway-ish; then further away
        Tensor r = EncoderMetrics.relativeDistanceChange(ref, before, after);
        assertEquals((1 - (1 - 1 / Math.sqrt(2))) / 1, r.get(0), 1e-6);
        assertEquals((1 - 2) / 1.0, r.get(1), 1e-6);
        assertThrows(IllegalArgumentException.class, () -> EncoderMetrics.relativeDistanceChange(ref, ref, after));
    }

    @Test
    void retrievalAccuracyCountsRowsWhoseNearestKeyIsTheirPair() {
        Tensor q = Tensor.of(new float[] {1, 0, 0, 1, 1, 1}, 3, 2);
        Tensor k = Tensor.of(new float[] {2, 0.1f, 0.1f, 3, 1, -1}, 3, 2);
        // row 0 → key 0 (cos 0.999, hit), row 1 → key 1 (hit), row 2 (45°) → key 0 at cos 0.742 beats key 1 at 0.730
        // and its own key 2 at 0 (miss)
        assertEquals(2 / 3f, EncoderMetrics.retrievalAccuracy(q, k), 1e-6);
        assertThrows(IllegalArgumentException.class, () -> EncoderMetrics.retrievalAccuracy(q, A));
    }
}
