package dev.loupe.kernels;

import jcuda.driver.CUdeviceptr;

/**
 * A {@link CUdeviceptr} whose raw address can be read and rebuilt, so the caching allocator can keep plain
 * {@code long}s (JCuda keeps the address in protected fields: nativePointer + byteOffset).
 */
final class DevicePointer extends CUdeviceptr {
    /** A null pointer, for {@code cuMemAlloc} to fill in. */
    DevicePointer() {
    }

    /** A pointer to {@code address}. */
    DevicePointer(long address) {
        super(new CUdeviceptr(), address);
    }

    /** The raw device address. */
    long address() {
        return getNativePointer() + getByteOffset();
    }
}
