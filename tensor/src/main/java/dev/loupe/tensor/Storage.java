package dev.loupe.tensor;

/**
 * A flat buffer of elements that one or more {@link Tensor} views read through their shape, strides and offset.
 *
 * <p>The interface is what lets callers stay unchanged when the buffer is on the Java heap ({@link FloatStorage}),
 * memory-mapped from a weight file larger than 2 GB, held in bf16/f16, or on a GPU: kernels that need raw float32
 * arrays ask for a {@link FloatStorage} and convert through {@link #read} otherwise. Indices are element indices.
 */
public interface Storage {
    /** Element type as stored. */
    DType dtype();

    /** Where the elements live. */
    Device device();

    /** Number of elements. */
    long size();

    /** Element {@code i}, widened to float32. Slow path: kernels use bulk access. */
    float get(long i);

    /** Stores {@code v} (narrowed to the storage's dtype) at element {@code i}. */
    void set(long i, float v);

    /**
     * Copies {@code len} elements starting at element {@code offset} into {@code dst[dstOffset ..]}, widened to
     * float32. Throws {@link IndexOutOfBoundsException} when the range is outside the storage.
     */
    void read(long offset, float[] dst, int dstOffset, int len);

    /**
     * Copies {@code src[srcOffset .. srcOffset + len)} to elements {@code offset ..}, narrowed to the storage's dtype:
     * how {@link Tensor#to} fills a storage on another device. The default goes through {@link #set} one element at a
     * time; storages with a bulk path override it. Throws {@link IndexOutOfBoundsException} when a range is outside.
     */
    default void write(long offset, float[] src, int srcOffset, int len) {
        java.util.Objects.checkFromIndexSize(offset, len, size());
        java.util.Objects.checkFromIndexSize(srcOffset, len, src.length);
        for (int i = 0; i < len; i++) set(offset + i, src[srcOffset + i]);
    }
}
