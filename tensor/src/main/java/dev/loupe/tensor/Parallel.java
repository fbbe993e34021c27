package dev.loupe.tensor;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;

/**
 * Splits index ranges over the CPU cores. One pool for the process, sized by the system property
 * {@code loupe.threads}, else the environment variable {@code LOUPE_THREADS}, else the number of processors. The
 * caller's thread takes the first chunk, so a one-thread setting runs everything inline.
 */
public final class Parallel {
    private static final int THREADS = configuredThreads();
    private static final ForkJoinPool POOL = THREADS > 1 ? new ForkJoinPool(THREADS) : null;

    private Parallel() {
    }

    /** Body over the half-open range [from, to). */
    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to);
    }

    /** Number of threads kernels split work over. */
    public static int threads() {
        return THREADS;
    }

    /**
     * Runs {@code body} over [0, n) split into at most {@link #threads()} contiguous chunks, none smaller than
     * {@code grain} (so small work stays on the caller's thread). Returns when every chunk has finished; an
     * exception in any chunk is rethrown.
     */
    public static void forRange(int n, int grain, RangeBody body) {
        int chunks = Math.min(THREADS, Math.max(1, n / Math.max(1, grain)));
        if (chunks <= 1 || POOL == null || ForkJoinTask.inForkJoinPool()) {
            if (n > 0) body.run(0, n);
            return;
        }
        ForkJoinTask<?>[] tasks = new ForkJoinTask<?>[chunks - 1];
        for (int c = 1; c < chunks; c++) {
            int from = (int) ((long) n * c / chunks), to = (int) ((long) n * (c + 1) / chunks);
            tasks[c - 1] = POOL.submit(() -> body.run(from, to));
        }
        body.run(0, (int) ((long) n / chunks));
        for (ForkJoinTask<?> t : tasks) t.join();
    }

    private static int configuredThreads() {
        String v = System.getProperty("loupe.threads", System.getenv("LOUPE_THREADS"));
        if (v != null && !v.isBlank()) {
            try {
                return Math.max(1, Integer.parseInt(v.trim()));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("loupe.threads / LOUPE_THREADS must be an integer but was '" + v + "'");
            }
        }
        return Runtime.getRuntime().availableProcessors();
    }
}
