package dev.loupe.tensor.fake;

import dev.loupe.tensor.DType;
import dev.loupe.tensor.Device;
import dev.loupe.tensor.FloatStorage;
import dev.loupe.tensor.Storage;
import java.util.Objects;

/**
 * Float32 elements "on" the fake device: a Java array, but not a {@link FloatStorage}, so that no CPU kernel takes it
 * for host memory by accident. Only {@link FakeDeviceBackend} looks inside (through {@link #hostView()}).
 */
public final class FakeStorage implements Storage {
    private final float[] data;
    private final Device device;

    FakeStorage(int size, Device device) {
        this.data = new float[size];
        this.device = device;
    }

    /** A CPU storage sharing this storage's array, for the CPU kernels the fake backend computes with. */
    FloatStorage hostView() {
        return new FloatStorage(data);
    }

    @Override
    public DType dtype() {
        return DType.F32;
    }

    @Override
    public Device device() {
        return device;
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
        Objects.checkFromIndexSize(offset, len, data.length);
        System.arraycopy(data, Math.toIntExact(offset), dst, dstOffset, len);
    }

    @Override
    public void write(long offset, float[] src, int srcOffset, int len) {
        Objects.checkFromIndexSize(offset, len, data.length);
        System.arraycopy(src, srcOffset, data, Math.toIntExact(offset), len);
    }
}
