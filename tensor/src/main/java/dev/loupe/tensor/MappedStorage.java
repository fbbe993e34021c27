package dev.loupe.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * Read-only elements in a {@link MemorySegment}, little-endian, as weight files store them: usually a slice of a
 * memory-mapped file, so a multi-gigabyte checkpoint costs no heap. Elements are F32, F16 or BF16 and are widened to
 * float32 by {@link #get} and {@link #read}; indices are longs, so a storage may exceed 2^31 bytes or elements.
 *
 * <p>The segment may be unaligned (safetensors offsets and zip entries need not be multiples of the element size).
 *
 * <p><b>Lifetime.</b> The storage does not own the segment: whoever mapped it (a weight-file reader) closes the
 * arena, after which every access throws {@link IllegalStateException}. Tensors viewing this storage must not outlive
 * that reader; copy them to the heap ({@code Tensor.wrap(t.toFloatArray(), t.shape())}) when they must.
 *
 * <p><b>Thread safety.</b> Reads are safe from any thread the segment's arena allows (a shared arena: all).
 */
public final class MappedStorage implements Storage {
    private static final ValueLayout.OfFloat F32 =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Elements converted per chunk of {@link #read}: bounds the scratch array, stays in L1/L2. */
    private static final int CHUNK = 4096;

    private final MemorySegment segment;
    private final DType dtype;
    private final long size;

    /**
     * Views {@code segment} as elements of {@code dtype}. Throws {@link IllegalArgumentException} when its byte size is
     * not a whole number of elements.
     */
    public MappedStorage(MemorySegment segment, DType dtype) {
        this.segment = Objects.requireNonNull(segment, "segment");
        this.dtype = Objects.requireNonNull(dtype, "dtype");
        if (segment.byteSize() % dtype.bytes() != 0) {
            throw new IllegalArgumentException("MappedStorage: " + segment.byteSize() + " bytes is not a whole number of "
                    + dtype + " elements (" + dtype.bytes() + " bytes each)");
        }
        this.size = segment.byteSize() / dtype.bytes();
    }

    /** The bytes, for backends that upload them as they are (e.g. to a GPU). Read-only by contract. */
    public MemorySegment segment() {
        return segment;
    }

    @Override
    public DType dtype() {
        return dtype;
    }

    @Override
    public Device device() {
        return Device.CPU;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public float get(long i) {
        Objects.checkIndex(i, size);
        return switch (dtype) {
            case F32 -> segment.get(F32, i * 4);
            case F16 -> Float.float16ToFloat(segment.get(U16, i * 2));
            case BF16 -> bf16ToFloat(segment.get(U16, i * 2));
        };
    }

    /** Always throws: weights mapped from a file are never written through (the file is opened read-only). */
    @Override
    public void set(long i, float v) {
        throw new UnsupportedOperationException("read-only");
    }

    @Override
    public void read(long offset, float[] dst, int dstOffset, int len) {
        Objects.checkFromIndexSize(offset, (long) len, size);
        Objects.checkFromIndexSize(dstOffset, len, dst.length);
        switch (dtype) {
            // MemorySegment.copy swaps byte order where the platform needs it and is a bulk copy otherwise.
            case F32 -> MemorySegment.copy(segment, F32, offset * 4, dst, dstOffset, len);
            case F16, BF16 -> readHalf(offset, dst, dstOffset, len);
        }
    }

    /** Bulk-copies 16-bit words into a scratch array, then widens them in a tight loop the JIT can vectorize. */
    private void readHalf(long offset, float[] dst, int dstOffset, int len) {
        short[] bits = new short[Math.min(len, CHUNK)];
        boolean half = dtype == DType.F16;
        for (int done = 0; done < len; ) {
            int n = Math.min(bits.length, len - done);
            MemorySegment.copy(segment, U16, (offset + done) * 2, bits, 0, n);
            int base = dstOffset + done;
            if (half) {
                for (int k = 0; k < n; k++) dst[base + k] = Float.float16ToFloat(bits[k]);
            } else {
                for (int k = 0; k < n; k++) dst[base + k] = bf16ToFloat(bits[k]);
            }
            done += n;
        }
    }

    /** bf16 is the top half of a float32, so widening is a shift (exact, NaN payloads kept). */
    private static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    @Override
    public String toString() {
        return "MappedStorage[" + dtype + ", " + size + " elements]";
    }
}
