package dev.loupe.tensor;

/** Small helpers every op family uses: output allocation and device checks. */
final class OpSupport {
    private OpSupport() {
    }

    /** A fresh contiguous tensor of {@code shape} on {@code backend}'s device (zero-filled). */
    static Tensor alloc(Backend backend, int[] shape) {
        return new Tensor(backend.allocate(Shapes.numel(shape)), shape.clone(), Shapes.contiguousStrides(shape), 0);
    }

    /** The common backend of {@code ts} (nulls skipped), or an exception naming the op and the devices. */
    static Backend backend(String op, Tensor... ts) {
        Device device = null;
        for (Tensor t : ts) {
            if (t == null) continue;
            if (device == null) {
                device = t.device();
            } else if (!device.equals(t.device())) {
                throw new IllegalArgumentException(op + ": operands on different devices, " + device + " and "
                        + t.device());
            }
        }
        return Backends.of(device == null ? Device.CPU : device);
    }
}
