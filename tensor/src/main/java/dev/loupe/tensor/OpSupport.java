package dev.loupe.tensor;

/** Small helpers every op family uses: output allocation and device checks. */
final class OpSupport {
    private OpSupport() {
    }

    /** A fresh contiguous tensor of {@code shape} on {@code backend}'s device (zero-filled). */
    static Tensor alloc(Backend backend, int[] shape) {
        return new Tensor(backend.allocate(Shapes.numel(shape)), shape.clone(), Shapes.contiguousStrides(shape), 0);
    }

    /**
     * The common backend of {@code ts} (nulls skipped), or an exception naming the op and the devices. There is no
     * exception for scalars: every operand, 0-dim ones included, must be on one device, and constants an op makes for
     * itself are made on its operands' device ({@link Tensor#scalar(float, Device)}).
     */
    static Backend backend(String op, Tensor... ts) {
        Device device = null;
        for (Tensor t : ts) {
            if (t == null) continue;
            if (device == null) {
                device = t.device();
            } else if (!device.equals(t.device())) {
                throw new IllegalArgumentException(mismatch(device, t.device(), op));
            }
        }
        return Backends.of(device == null ? Device.CPU : device);
    }

    /** The one wording of a device mismatch, so that every op reports it alike. */
    static String mismatch(Device a, Device b, String op) {
        return "expected tensors on one device but got " + a + " and " + b + " in " + op
                + " (move one with Tensor.to(device))";
    }
}
