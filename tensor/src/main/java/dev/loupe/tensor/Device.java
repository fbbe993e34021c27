package dev.loupe.tensor;

/**
 * Where a tensor's storage lives. {@link #CPU} is always available; a CUDA device is opt-in and provided by the
 * {@code kernels} module, which registers a {@link Backend} for it.
 *
 * @param kind  the device family
 * @param index the ordinal within the family (0 for the CPU)
 */
public record Device(Kind kind, int index) {
    /** Families of devices a {@link Backend} can serve. */
    public enum Kind { CPU, CUDA }

    /** The host: Java heap or off-heap memory, computed with the Vector API. */
    public static final Device CPU = new Device(Kind.CPU, 0);

    /** The CUDA device with the given ordinal. */
    public static Device cuda(int index) {
        return new Device(Kind.CUDA, index);
    }

    @Override
    public String toString() {
        return kind == Kind.CPU ? "cpu" : "cuda:" + index;
    }
}
