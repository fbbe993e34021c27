package dev.loupe.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The benches' one median: the middle sample, or the mean of the two middle samples of an even count. */
class TimingTest {
    @Test
    void medianOfAnOddCountIsTheMiddleSample() {
        assertEquals(3.0, Timing.median(new double[] {9, 3, 1}), 0);
        assertEquals(7.5, Timing.median(new double[] {7.5}), 0);
        assertEquals(2.0, Timing.median(new double[] {5, 2, 2, 1, 100}), 0);
    }

    @Test
    void medianOfAnEvenCountIsTheMeanOfTheTwoMiddleSamples() {
        assertEquals(2.5, Timing.median(new double[] {4, 1, 3, 2}), 0);
        assertEquals(6.0, Timing.median(new double[] {10, 2}), 0);
        assertEquals(2.0, Timing.median(new double[] {2, 2, 1, 50}), 0);
    }

    @Test
    void medianLeavesItsInputAloneAndRefusesNoSamples() {
        double[] s = {3, 1, 2};
        Timing.median(s);
        assertArrayEquals(new double[] {3, 1, 2}, s, 0);
        assertThrows(IllegalArgumentException.class, () -> Timing.median(new double[0]));
    }

    @Test
    void medianMillisRunsTheCallOncePerRep() {
        int[] calls = {0};
        double ms = Timing.medianMillis(4, () -> calls[0]++);
        assertEquals(4, calls[0]);
        assertEquals(true, ms >= 0, "ms = " + ms);
        assertThrows(IllegalArgumentException.class, () -> Timing.medianMillis(0, () -> { }));
    }
}
