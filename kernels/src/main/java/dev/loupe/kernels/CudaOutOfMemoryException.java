package dev.loupe.kernels;

/** The device could not supply an allocation, even after the caching allocator released its cached blocks. */
public final class CudaOutOfMemoryException extends CudaException {
    private final long requested;
    private final long free;

    /**
     * @param result    the driver's result code (normally {@code CUDA_ERROR_OUT_OF_MEMORY})
     * @param op        the Loupe operation that asked for memory
     * @param requested bytes asked for (after rounding to the allocator's size class)
     * @param free      bytes the driver reported free at the time, or -1 when it could not say
     * @param cached    bytes the allocator held in its free lists before releasing them
     */
    public CudaOutOfMemoryException(int result, String op, long requested, long free, long cached) {
        super("out of device memory in " + op + ": requested " + bytes(requested) + ", "
                + (free < 0 ? "free unknown" : bytes(free) + " free") + " (" + bytes(cached)
                + " of cached blocks were released first; " + name(result) + ")", result);
        this.requested = requested;
        this.free = free;
    }

    /** Bytes requested. */
    public long requested() {
        return requested;
    }

    /** Bytes free on the device when the request failed, or -1 when unknown. */
    public long free() {
        return free;
    }

    static String bytes(long n) {
        if (n < 1024) return n + " B";
        if (n < 1L << 20) return String.format(java.util.Locale.ROOT, "%d B (%.1f KiB)", n, n / 1024.0);
        if (n < 1L << 30) return String.format(java.util.Locale.ROOT, "%d B (%.1f MiB)", n, n / 1048576.0);
        return String.format(java.util.Locale.ROOT, "%d B (%.2f GiB)", n, n / 1073741824.0);
    }
}
