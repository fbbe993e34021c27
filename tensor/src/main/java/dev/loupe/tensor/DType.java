package dev.loupe.tensor;

/**
 * Element type of a {@link Storage}. Every op computes in float32; a storage of another type (weights in bf16 or f16,
 * say) is widened to float32 when a kernel reads it.
 */
public enum DType {
    F32(4), F16(2), BF16(2);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    /** Bytes per element. */
    public int bytes() {
        return bytes;
    }
}
