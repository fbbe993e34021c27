package dev.loupe.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The caching allocator's bookkeeping against a fake driver with a fixed capacity. */
class DeviceAllocatorTest {
    /** A device of {@code capacity} bytes handing out increasing addresses; records frees. */
    private static final class FakeDriver implements DeviceAllocator.Driver {
        final long capacity;
        long used;
        long next = 1 << 20;
        final List<Long> freed = new ArrayList<>();
        final java.util.Map<Long, Long> sizes = new java.util.HashMap<>();
        int syncs;
        Runnable onCollect = () -> { };
        int collections;

        FakeDriver(long capacity) {
            this.capacity = capacity;
        }

        @Override
        public long allocate(long bytes) {
            if (used + bytes > capacity) return -2; // CUDA_ERROR_OUT_OF_MEMORY
            used += bytes;
            long a = next;
            next += bytes;
            sizes.put(a, bytes);
            return a;
        }

        @Override
        public void free(long address) {
            freed.add(address);
            used -= sizes.remove(address);
        }

        @Override
        public long freeBytes() {
            return capacity - used;
        }

        @Override
        public void synchronize() {
            syncs++;
        }

        @Override
        public void collectGarbage() {
            collections++;
            onCollect.run();
        }
    }

    @Test
    void sizeClassesArePowersOfTwoUpToOneMebibyteThenMultiplesOfTwo() {
        assertEquals(512, DeviceAllocator.sizeClass(0));
        assertEquals(512, DeviceAllocator.sizeClass(512));
        assertEquals(1024, DeviceAllocator.sizeClass(513));
        assertEquals(1 << 20, DeviceAllocator.sizeClass((1 << 19) + 1));
        assertEquals(1 << 20, DeviceAllocator.sizeClass(1 << 20));
        assertEquals(2 << 20, DeviceAllocator.sizeClass((1 << 20) + 1));
        assertEquals(6 << 20, DeviceAllocator.sizeClass((4 << 20) + 1));
    }

    @Test
    void aReleasedBlockIsReusedForTheSameSizeClassWithoutCallingTheDriver() {
        FakeDriver d = new FakeDriver(1 << 30);
        DeviceAllocator alloc = new DeviceAllocator(d);
        long a = alloc.allocate(3000, "test");
        alloc.release(a, DeviceAllocator.sizeClass(3000));
        assertEquals(4096, alloc.cachedBytes());
        long used = d.used;
        assertEquals(a, alloc.allocate(4000, "test")); // same class (4 KiB)
        assertEquals(used, d.used);
        assertEquals(0, alloc.cachedBytes());
        assertEquals(4096, alloc.liveBytes());
    }

    @Test
    void whenTheDeviceIsFullCachedBlocksGoBackToTheDriverAndTheRequestIsRetried() {
        FakeDriver d = new FakeDriver(8 << 20);
        DeviceAllocator alloc = new DeviceAllocator(d);
        long a = alloc.allocate(6 << 20, "first");
        alloc.release(a, 6 << 20);
        long b = alloc.allocate(4 << 20, "second"); // 6 MiB cached + 4 MiB > 8 MiB: release, then fits
        assertTrue(b > 0);
        assertEquals(List.of(a), d.freed);
        assertEquals(1, d.syncs, "cached blocks are freed only after the stream drains");
        assertEquals(0, alloc.cachedBytes());
    }

    @Test
    void outOfMemoryNamesTheOpTheRequestedAndTheFreeBytes() {
        FakeDriver d = new FakeDriver(8 << 20);
        DeviceAllocator alloc = new DeviceAllocator(d);
        alloc.allocate(6 << 20, "weights");
        CudaOutOfMemoryException e = assertThrows(CudaOutOfMemoryException.class,
                () -> alloc.allocate(3 << 20, "matmul"));
        assertEquals(1, d.collections, "a garbage collection was tried first");
        assertEquals(4 << 20, e.requested());
        assertEquals(2 << 20, e.free());
        assertTrue(e.getMessage().contains("matmul"), e.getMessage());
        assertTrue(e.getMessage().contains("requested 4194304 B (4.0 MiB)"), e.getMessage());
        assertTrue(e.getMessage().contains("2097152 B (2.0 MiB) free"), e.getMessage());
        assertTrue(e.getMessage().contains("CUDA_ERROR_OUT_OF_MEMORY"), e.getMessage());
    }

    /** A full device whose blocks are held by garbage: the collection's cleaners hand one back, and it is reused. */
    @Test
    void whenTheDeviceIsFullOfGarbageACollectionReturnsItsBlocksForReuse() {
        FakeDriver d = new FakeDriver(8 << 20);
        DeviceAllocator alloc = new DeviceAllocator(d);
        long garbage = alloc.allocate(6 << 20, "activations");
        d.onCollect = () -> alloc.release(garbage, 6 << 20); // what the storage's Cleaner does after a GC
        assertEquals(garbage, alloc.allocate(5 << 20, "next step"), "the collected block, same size class");
        assertEquals(1, d.collections);
        assertEquals(6 << 20, alloc.liveBytes());
        assertEquals(6 << 20, d.used, "no second block from the driver");
    }

    @Test
    void thePeakCountsBytesHeldFromTheDriverUntilReset() {
        FakeDriver d = new FakeDriver(1 << 30);
        DeviceAllocator alloc = new DeviceAllocator(d);
        long a = alloc.allocate(4 << 20, "a");
        long b = alloc.allocate(2 << 20, "b");
        alloc.release(a, 4 << 20);
        alloc.release(b, 2 << 20);
        assertEquals(6 << 20, alloc.peakReservedBytes(), "cached blocks are still held");
        alloc.releaseCached();
        assertEquals(6 << 20, alloc.peakReservedBytes(), "a peak stays until reset");
        alloc.resetPeak();
        assertEquals(0, alloc.peakReservedBytes());
        alloc.allocate(512, "c");
        assertEquals(512, alloc.peakReservedBytes());
    }
}
