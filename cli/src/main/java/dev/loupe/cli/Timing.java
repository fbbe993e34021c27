package dev.loupe.cli;

import java.util.Arrays;

/**
 * The one way the benches time Loupe: {@code reps} timed calls, reported as their median. Warm-up stays with each
 * bench (a GEMM warms for a time, a model for a number of calls).
 */
final class Timing {
    private Timing() {
    }

    /**
     * The median of {@code samples}: the middle value of an odd count, the mean of the two middle values of an even
     * count (numpy's definition). The anchors take {@code sorted(times)[n // 2]}, the same for an odd count, which
     * the benches' defaults are (an even count there is the upper of the two middle values).
     *
     * @throws IllegalArgumentException for no samples
     */
    static double median(double[] samples) {
        if (samples.length == 0) throw new IllegalArgumentException("the median of no samples");
        double[] s = samples.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    /**
     * The {@link #median} wall-clock milliseconds of {@code reps} calls of {@code once}, each timed alone.
     *
     * @throws IllegalArgumentException for {@code reps} < 1
     */
    static double medianMillis(int reps, Runnable once) {
        if (reps < 1) throw new IllegalArgumentException("reps must be >= 1, got " + reps);
        double[] ms = new double[reps];
        for (int r = 0; r < reps; r++) {
            long t = System.nanoTime();
            once.run();
            ms[r] = (System.nanoTime() - t) / 1e6;
        }
        return median(ms);
    }
}
