package dev.loupe.kernels;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * A caching allocator of device memory: blocks are rounded up to a size class and, when their storage is no longer
 * reachable, returned to a free list of that class instead of to the driver, so a training step that allocates the
 * same activations every time stops calling {@code cuMemAlloc} after the first.
 *
 * <p>Size classes: powers of two from 512 B up to 1 MiB, then multiples of 2 MiB (so a large request wastes at most
 * 2 MiB). Reuse is safe without events because every kernel runs on the one stream: work that used a block was
 * enqueued before the work of its next owner. Thread-safe (blocks come back from the {@link java.lang.ref.Cleaner}
 * thread); the driver calls themselves go through a {@link Driver}, so the bookkeeping is testable without a GPU.
 *
 * <p>A block comes back only once the garbage collector has found its storage unreachable; the Java heap may be far
 * from full while the device is, so a request the device cannot meet first asks for a collection (and waits briefly
 * for the cleaners) before it gives up. Without that, a training step at GPT-2 size (tens of GB of intermediates a
 * step, a few MB of heap) would exhaust the device after a step or two.
 */
final class DeviceAllocator {
    /** The driver calls the allocator needs; addresses are raw device pointers. */
    interface Driver {
        /** A fresh block of {@code bytes}, or a negative CUresult on failure. */
        long allocate(long bytes);

        /** Frees a block from {@link #allocate}. */
        void free(long address);

        /** Bytes free on the device now, or -1 when unknown. */
        long freeBytes();

        /** Waits for queued work, before cached blocks go back to the driver. */
        void synchronize();

        /** Asks for a garbage collection, so that unreachable storages {@link #release} their blocks. */
        void collectGarbage();
    }

    /** The longest wait for cleaners after a collection, in milliseconds. */
    private static final long RECLAIM_WAIT_MS = 200;

    static final long MIN_BLOCK = 512;
    static final long SMALL_LIMIT = 1L << 20;
    static final long LARGE_STEP = 2L << 20;

    private final Driver driver;
    private final Map<Long, ArrayDeque<Long>> free = new HashMap<>();
    private long cachedBytes;
    private long liveBytes;
    private long peakReservedBytes;
    private long releases; // count of release() calls, to see the cleaners at work

    DeviceAllocator(Driver driver) {
        this.driver = driver;
    }

    /** The size class that a request of {@code bytes} is served from. */
    static long sizeClass(long bytes) {
        if (bytes < 0) throw new IllegalArgumentException("sizeClass: negative size " + bytes);
        if (bytes <= MIN_BLOCK) return MIN_BLOCK;
        if (bytes <= SMALL_LIMIT) return Long.highestOneBit(bytes - 1) << 1;
        return (bytes + LARGE_STEP - 1) / LARGE_STEP * LARGE_STEP;
    }

    /**
     * A block of at least {@code bytes} (its size is {@link #sizeClass}); reuses a cached block of the class when
     * there is one. When the device cannot supply it: releases every cached block and retries; then asks for a
     * garbage collection (see the class comment) and tries both again; then throws {@link CudaOutOfMemoryException}
     * naming {@code op}, the bytes requested and the bytes free.
     */
    long allocate(long bytes, String op) {
        long size = sizeClass(bytes);
        long[] released = {0};
        long address = tryAllocate(size, released);
        if (address >= 0) return address;
        reclaim(); // outside the lock: the cleaners need it to release
        synchronized (this) {
            address = tryAllocate(size, released);
            if (address >= 0) return address;
            throw new CudaOutOfMemoryException((int) -address, op, size, driver.freeBytes(), released[0]);
        }
    }

    /**
     * A block of {@code size} bytes from the free list or the driver (after releasing the cache, whose bytes are
     * added to {@code released[0]}), or a negative CUresult.
     */
    private synchronized long tryAllocate(long size, long[] released) {
        ArrayDeque<Long> list = free.get(size);
        if (list != null && !list.isEmpty()) {
            cachedBytes -= size;
            liveBytes += size;
            return list.pop();
        }
        long address = driver.allocate(size);
        if (address < 0) {
            released[0] += cachedBytes;
            releaseCached();
            address = driver.allocate(size);
        }
        if (address < 0) return address;
        liveBytes += size;
        peakReservedBytes = Math.max(peakReservedBytes, liveBytes + cachedBytes); // held from the driver
        return address;
    }

    /**
     * A garbage collection, then a wait until the cleaners have stopped releasing blocks (or {@link #RECLAIM_WAIT_MS}
     * passed without any).
     */
    private void reclaim() {
        long before = releases();
        driver.collectGarbage();
        long last = before;
        for (long waited = 0; waited < RECLAIM_WAIT_MS; waited++) {
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            long now = releases();
            if (now == last && now != before) return; // they released some and have gone quiet
            last = now;
        }
    }

    private synchronized long releases() {
        return releases;
    }

    /** Takes back a block of {@code size} bytes (a size class) from {@link #allocate}; it is kept for reuse. */
    synchronized void release(long address, long size) {
        free.computeIfAbsent(size, k -> new ArrayDeque<>()).push(address);
        cachedBytes += size;
        liveBytes -= size;
        releases++;
    }

    /** Returns every cached block to the driver (after the stream drains). */
    synchronized void releaseCached() {
        if (cachedBytes == 0) return;
        driver.synchronize();
        for (ArrayDeque<Long> list : free.values()) {
            for (Long a : list) driver.free(a);
        }
        free.clear();
        cachedBytes = 0;
    }

    /** Bytes held in free lists. */
    synchronized long cachedBytes() {
        return cachedBytes;
    }

    /** The most bytes held from the driver (live plus cached) since the last {@link #resetPeak}. */
    synchronized long peakReservedBytes() {
        return peakReservedBytes;
    }

    /** Starts a new peak at the bytes held now. */
    synchronized void resetPeak() {
        peakReservedBytes = liveBytes + cachedBytes;
    }

    /** Bytes handed out and not yet released. */
    synchronized long liveBytes() {
        return liveBytes;
    }
}
