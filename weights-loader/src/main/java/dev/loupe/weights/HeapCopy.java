package dev.loupe.weights;

import dev.loupe.tensor.Storage;
import dev.loupe.tensor.Tensor;

/**
 * Copies a strided view over any {@link Storage} into a contiguous float32 heap tensor, through {@link Storage#read}
 * so that non-heap storages (mapped bf16, say) are widened in bulk. Needed because the CPU copy kernel reads only
 * float32 heap storage, so {@code contiguous()} cannot be used on a mapped, non-contiguous view.
 */
final class HeapCopy {
    private HeapCopy() {}

    static Tensor of(Tensor t) {
        int[] shape = t.shape(), strides = t.strides();
        int rank = shape.length, n = t.numel();
        float[] out = new float[n];
        Storage s = t.storage();
        if (n == 0) return Tensor.of(out, shape);
        if (t.isContiguous()) {
            s.read(t.offset(), out, 0, n);
            return Tensor.of(out, shape);
        }
        // Walk the outer indices like an odometer; read each innermost row in one call when its stride is 1.
        int inner = rank == 0 ? 1 : shape[rank - 1];
        int innerStride = rank == 0 ? 1 : strides[rank - 1];
        int[] idx = new int[Math.max(rank - 1, 0)];
        long base = t.offset();
        float[] row = innerStride == 1 ? null : new float[1];
        for (int pos = 0; pos < n; pos += inner) {
            if (innerStride == 1) {
                s.read(base, out, pos, inner);
            } else {
                for (int k = 0; k < inner; k++) {
                    s.read(base + (long) k * innerStride, row, 0, 1);
                    out[pos + k] = row[0];
                }
            }
            for (int d = rank - 2; d >= 0; d--) {
                base += strides[d];
                if (++idx[d] < shape[d]) break;
                base -= (long) strides[d] * shape[d];
                idx[d] = 0;
            }
        }
        return Tensor.of(out, shape);
    }
}
