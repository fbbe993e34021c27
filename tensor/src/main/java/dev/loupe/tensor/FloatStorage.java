package dev.loupe.tensor;

import java.util.Objects;

/** Float32 elements in a Java array: the storage every CPU kernel computes on directly. */
public final class FloatStorage implements Storage {
    private final float[] data;

    /** Wraps {@code data} without copying; the storage and the caller then share the array. */
    public FloatStorage(float[] data) {
        this.data = Objects.requireNonNull(data, "data");
    }

    /** A zero-filled storage of {@code size} elements. */
    public FloatStorage(int size) {
        this(new float[size]);
    }

    /** The backing array, shared, for kernels. */
    public float[] array() {
        return data;
    }

    @Override
    public DType dtype() {
        return DType.F32;
    }

    @Override
    public Device device() {
        return Device.CPU;
    }

    @Override
    public long size() {
        return data.length;
    }

    @Override
    public float get(long i) {
        return data[Math.toIntExact(i)];
    }

    @Override
    public void set(long i, float v) {
        data[Math.toIntExact(i)] = v;
    }

    @Override
    public void read(long offset, float[] dst, int dstOffset, int len) {
        System.arraycopy(data, Math.toIntExact(offset), dst, dstOffset, len);
    }

    @Override
    public void write(long offset, float[] src, int srcOffset, int len) {
        System.arraycopy(src, srcOffset, data, Math.toIntExact(offset), len);
    }
}
