package dev.loupe.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CreationTest {
    @Test
    void zerosOnesFullAndScalarHaveTheirShapeAndValue() {
        assertArrayEquals(new float[6], Tensor.zeros(2, 3).toFloatArray());
        assertArrayEquals(new float[] {1, 1, 1, 1}, Tensor.ones(4).toFloatArray());
        assertArrayEquals(new float[] {2.5f, 2.5f}, Tensor.full(2.5f, 2, 1).toFloatArray());
        Tensor s = Tensor.scalar(-3f);
        assertEquals(0, s.rank());
        assertEquals(-3f, s.item());
        assertArrayEquals(new int[] {2, 0, 3}, Tensor.zeros(2, 0, 3).shape());
    }

    @Test
    void arangeCountsLikeNumpyIncludingFractionalAndNegativeSteps() {
        assertArrayEquals(new float[] {0, 1, 2, 3}, Tensor.arange(4).toFloatArray());
        assertArrayEquals(new float[] {1f, 1.5f, 2f, 2.5f}, Tensor.arange(1f, 3f, 0.5f).toFloatArray());
        assertArrayEquals(new float[] {3, 1}, Tensor.arange(3f, 0f, -2f).toFloatArray()); // ceil(-3 / -2) = 2
        assertEquals(0, Tensor.arange(2f, 1f, 1f).numel());
        assertThrows(IllegalArgumentException.class, () -> Tensor.arange(0f, 1f, 0f));
    }

    @Test
    void ofCopiesWhileWrapShares() {
        float[] data = {1, 2, 3, 4, 5, 6};
        Tensor copied = Tensor.of(data, 2, 3), shared = Tensor.wrap(data, 3, 2);
        data[0] = 9;
        assertEquals(1f, copied.get(0, 0));
        assertEquals(9f, shared.get(0, 0));
        assertEquals(6f, shared.get(-1, -1));
        var e = assertThrows(IllegalArgumentException.class, () -> Tensor.wrap(data, 4, 2));
        assertTrue(e.getMessage().contains("[4, 2]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Tensor.of(new float[][] {{1, 2}, {3}}));
        assertThrows(IndexOutOfBoundsException.class, () -> copied.get(2, 0));
    }

    @Test
    void indicesHoldWholeNumbers() {
        assertArrayEquals(new float[] {5, 0, 50256}, Tensor.indices(5, 0, 50256).toFloatArray());
        Tensor m = Tensor.indices(new int[][] {{1, 2}, {3, 4}});
        assertArrayEquals(new int[] {2, 2}, m.shape());
        assertEquals(3f, m.get(1, 0));
    }

    @Test
    void seededGeneratorsRepeatAndDifferentSeedsDiffer() {
        assertArrayEquals(Tensor.randn(new Rng(42), 100).toFloatArray(), Tensor.randn(new Rng(42), 100).toFloatArray());
        assertNotEquals(Tensor.rand(new Rng(1), 8).get(0), Tensor.rand(new Rng(2), 8).get(0));
    }

    @Test
    void randIsUniformOnTheUnitIntervalAndRandnIsStandardNormal() {
        int n = 200_000;
        float[] u = Tensor.rand(new Rng(3), n).toFloatArray(), g = Tensor.randn(new Rng(4), n).toFloatArray();
        double su = 0, sg = 0, sg2 = 0;
        int below = 0;
        for (int i = 0; i < n; i++) {
            assertTrue(u[i] >= 0 && u[i] < 1);
            su += u[i];
            sg += g[i];
            sg2 += (double) g[i] * g[i];
            if (g[i] < -1.96) below++;
        }
        // Sample statistics, each within ~5 standard errors of its expectation.
        assertEquals(0.5, su / n, 5 * Math.sqrt(1.0 / 12 / n));
        assertEquals(0.0, sg / n, 5 / Math.sqrt(n));
        assertEquals(1.0, sg2 / n, 5 * Math.sqrt(2.0 / n));
        assertEquals(0.025, (double) below / n, 5 * Math.sqrt(0.025 * 0.975 / n)); // the normal's 2.5% tail
    }

    @Test
    void nextIntStaysInRangeAndCoversIt() {
        Rng rng = new Rng(9);
        int[] counts = new int[7];
        for (int i = 0; i < 70_000; i++) counts[rng.nextInt(7)]++;
        for (int c : counts) assertEquals(10_000, c, 500);
        assertThrows(IllegalArgumentException.class, () -> rng.nextInt(0));
    }
}
