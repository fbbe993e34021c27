package dev.loupe.kernels;

import dev.loupe.tensor.DType;
import dev.loupe.tensor.Device;
import dev.loupe.tensor.Storage;
import java.lang.ref.Cleaner;
import java.util.Objects;
import jcuda.driver.CUdeviceptr;

/**
 * Float32 elements in device memory. The block comes from the context's caching allocator and goes back to it when
 * the storage becomes unreachable (a {@link Cleaner}), so tensors need no explicit freeing.
 *
 * <p>{@link #get}, {@link #set} and {@link #read} copy through the host and wait for the stream: the slow path, for
 * {@code item()}, {@code toFloatArray()} and tests. Kernels take {@link #pointer(long)}.
 */
public final class CudaStorage implements Storage {
    private static final Cleaner CLEANER = Cleaner.create();

    private final CudaContext ctx;
    private final long address;
    private final long size;

    CudaStorage(CudaContext ctx, long size, String op) {
        if (size < 0) throw new IllegalArgumentException(op + ": negative element count " + size);
        this.ctx = Objects.requireNonNull(ctx, "ctx");
        this.size = size;
        long bytes = Math.max(1, size) * Float.BYTES;
        long block = DeviceAllocator.sizeClass(bytes);
        this.address = ctx.allocator.allocate(bytes, op);
        DeviceAllocator allocator = ctx.allocator;
        long a = address;
        CLEANER.register(this, () -> allocator.release(a, block)); // captures no reference to this storage
    }

    /** A device pointer to element {@code offset}. */
    CUdeviceptr pointer(long offset) {
        return new DevicePointer(address + offset * Float.BYTES);
    }

    @Override
    public DType dtype() {
        return DType.F32;
    }

    @Override
    public Device device() {
        return Device.cuda(ctx.ordinal);
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public float get(long i) {
        Objects.checkIndex(i, size);
        float[] one = new float[1];
        ctx.download(pointer(0), i, one, 0, 1, "get");
        return one[0];
    }

    @Override
    public void set(long i, float v) {
        Objects.checkIndex(i, size);
        ctx.upload(new float[] {v}, 0, pointer(0), i, 1, "set");
    }

    @Override
    public void read(long offset, float[] dst, int dstOffset, int len) {
        Objects.checkFromIndexSize(offset, len, size);
        Objects.checkFromIndexSize(dstOffset, len, dst.length);
        ctx.download(pointer(0), offset, dst, dstOffset, len, "read");
    }

    /** One pinned-buffer upload per 8 MiB, instead of the interface default's one transfer per element. */
    @Override
    public void write(long offset, float[] src, int srcOffset, int len) {
        Objects.checkFromIndexSize(offset, len, size);
        Objects.checkFromIndexSize(srcOffset, len, src.length);
        ctx.upload(src, srcOffset, pointer(0), offset, len, "write");
    }
}
