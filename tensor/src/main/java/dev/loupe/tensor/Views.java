package dev.loupe.tensor;

import java.util.Arrays;
import java.util.function.UnaryOperator;

/**
 * Ops that re-read the same storage through new shape, strides and offset, with their gradients. None copies,
 * except {@link #reshape} of a non-contiguous tensor and {@link #copy}.
 */
final class Views {
    private Views() {
    }

    private static Tensor viewOf(Tensor t, int[] shape, int[] strides, int offset) {
        return new Tensor(t.storage(), shape, strides, offset);
    }

    /** Resolves one -1 in {@code shape} so that the element count matches {@code numel}. */
    private static int[] inferShape(String op, int[] from, int[] shape) {
        int[] out = shape.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < out.length; i++) {
            if (out[i] == -1) {
                if (infer >= 0) throw new IllegalArgumentException(op + ": more than one -1 in " + Shapes.format(shape));
                infer = i;
            } else if (out[i] < 0) {
                throw new IllegalArgumentException(op + ": negative size in " + Shapes.format(shape));
            } else {
                known *= out[i];
            }
        }
        int numel = Shapes.numel(from);
        if (infer >= 0) {
            if (known == 0 || numel % known != 0) {
                throw new IllegalArgumentException(op + ": cannot view " + Shapes.format(from) + " as "
                        + Shapes.format(shape));
            }
            out[infer] = (int) (numel / known);
        }
        if (Shapes.numel(out) != numel) {
            throw new IllegalArgumentException(op + ": cannot view " + Shapes.format(from) + " (" + numel
                    + " elements) as " + Shapes.format(shape));
        }
        return out;
    }

    static Tensor view(Tensor t, int[] shape) {
        int[] in = t.shape();
        int[] out = inferShape("view", in, shape);
        if (!t.isContiguous()) {
            throw new IllegalArgumentException("view: tensor of shape " + Shapes.format(in) + " with strides "
                    + Arrays.toString(t.strides()) + " is not contiguous; use reshape (which copies)");
        }
        Tensor r = viewOf(t, out, Shapes.contiguousStrides(out), t.offset());
        return Autograd.record(r, "view", g -> new Tensor[] {g.reshape(in)}, t);
    }

    static Tensor reshape(Tensor t, int[] shape) {
        return t.isContiguous() ? view(t, shape) : view(copy(t), shape);
    }

    /** A contiguous copy (gradient passes through unchanged). */
    static Tensor copy(Tensor t) {
        Backend be = t.backend();
        Tensor out = OpSupport.alloc(be, t.shape());
        be.copy(t, out);
        return Autograd.record(out, "contiguous", g -> new Tensor[] {g}, t);
    }

    static Tensor permute(Tensor t, int[] dims) {
        int rank = t.rank();
        if (dims.length != rank) {
            throw new IllegalArgumentException("permute: " + dims.length + " dims for a tensor of shape "
                    + Shapes.format(t.shape()));
        }
        int[] shape = t.shape(), strides = t.strides();
        int[] newShape = new int[rank], newStrides = new int[rank], inverse = new int[rank];
        boolean[] seen = new boolean[rank];
        for (int i = 0; i < rank; i++) {
            int d = Shapes.dim("permute", dims[i], rank);
            if (seen[d]) throw new IllegalArgumentException("permute: dim " + d + " repeated in " + Arrays.toString(dims));
            seen[d] = true;
            newShape[i] = shape[d];
            newStrides[i] = strides[d];
            inverse[d] = i;
        }
        Tensor r = viewOf(t, newShape, newStrides, t.offset());
        return Autograd.record(r, "permute", g -> new Tensor[] {g.permute(inverse)}, t);
    }

    static Tensor transpose(Tensor t, int d0, int d1) {
        int rank = t.rank();
        int a = Shapes.dim("transpose", d0, rank), b = Shapes.dim("transpose", d1, rank);
        int[] dims = new int[rank];
        for (int i = 0; i < rank; i++) dims[i] = i;
        dims[a] = b;
        dims[b] = a;
        return permute(t, dims);
    }

    static Tensor narrow(Tensor t, int dim, int start, int length) {
        int d = Shapes.dim("narrow", dim, t.rank());
        int size = t.shape()[d];
        if (start < 0 || length < 0 || start + length > size) {
            throw new IndexOutOfBoundsException("narrow: [" + start + ", " + (start + length) + ") out of range for "
                    + "dim " + d + " of size " + size + " in shape " + Shapes.format(t.shape()));
        }
        return slice(t, d, start, start + length, 1);
    }

    static Tensor slice(Tensor t, int dim, int start, int end, int step) {
        int d = Shapes.dim("slice", dim, t.rank());
        if (step <= 0) throw new IllegalArgumentException("slice: step must be positive but was " + step);
        int size = t.shape()[d];
        int s = clampIndex(start, size), e = clampIndex(end, size);
        int len = e > s ? (e - s + step - 1) / step : 0;
        int[] shape = Shapes.with(t.shape(), d, len);
        int[] strides = t.strides();
        int offset = t.offset() + s * strides[d];
        strides[d] *= step;
        Tensor r = viewOf(t, shape, strides, offset);
        int[] inShape = t.shape();
        return Autograd.record(r, "slice", g -> new Tensor[] {embed(inShape, z -> slice(z, d, s, e, step), g)}, t);
    }

    private static int clampIndex(int i, int size) {
        int k = i < 0 ? i + size : i;
        return Math.max(0, Math.min(size, k));
    }

    static Tensor select(Tensor t, int dim, int index) {
        int d = Shapes.dim("select", dim, t.rank());
        int size = t.shape()[d];
        int k = index < 0 ? index + size : index;
        if (k < 0 || k >= size) {
            throw new IndexOutOfBoundsException("select: index " + index + " out of range for dim " + d + " of size "
                    + size + " in shape " + Shapes.format(t.shape()));
        }
        int[] strides = t.strides();
        Tensor r = viewOf(t, Shapes.remove(t.shape(), d), Shapes.remove(strides, d), t.offset() + k * strides[d]);
        int[] inShape = t.shape();
        return Autograd.record(r, "select", g -> new Tensor[] {embed(inShape, z -> select(z, d, k), g)}, t);
    }

    /** Zeros of {@code shape} with {@code g} written into the region that {@code region} selects. */
    static Tensor embed(int[] shape, UnaryOperator<Tensor> region, Tensor g) {
        Backend be = g.backend();
        Tensor z = OpSupport.alloc(be, shape);
        be.copy(g, region.apply(z));
        return z;
    }

    static Tensor expand(Tensor t, int[] shape) {
        int[] in = t.shape(), inStrides = t.strides();
        if (shape.length < in.length) {
            throw new IllegalArgumentException("expand: cannot expand " + Shapes.format(in) + " to fewer dims "
                    + Shapes.format(shape));
        }
        int lead = shape.length - in.length;
        int[] out = new int[shape.length], strides = new int[shape.length];
        for (int i = 0; i < shape.length; i++) {
            if (i < lead) {
                if (shape[i] < 0) throw new IllegalArgumentException("expand: -1 for a new leading dim in "
                        + Shapes.format(shape));
                out[i] = shape[i];
                strides[i] = 0;
                continue;
            }
            int have = in[i - lead];
            int want = shape[i] == -1 ? have : shape[i];
            if (want == have) {
                out[i] = have;
                strides[i] = inStrides[i - lead];
            } else if (have == 1) {
                out[i] = want;
                strides[i] = 0;
            } else {
                throw new IllegalArgumentException("expand: cannot expand " + Shapes.format(in) + " to "
                        + Shapes.format(shape) + " (dim " + i + ": " + have + " vs " + want + ")");
            }
        }
        if (Arrays.equals(out, in)) return t;
        Tensor r = viewOf(t, out, strides, t.offset());
        return Autograd.record(r, "expand", g -> new Tensor[] {g.sumTo(in)}, t);
    }

    static Tensor squeeze(Tensor t, int dim) {
        int d = Shapes.dim("squeeze", dim, t.rank());
        if (t.shape()[d] != 1) {
            throw new IllegalArgumentException("squeeze: dim " + d + " of shape " + Shapes.format(t.shape())
                    + " has size " + t.shape()[d] + ", not 1");
        }
        int[] in = t.shape();
        Tensor r = viewOf(t, Shapes.remove(in, d), Shapes.remove(t.strides(), d), t.offset());
        return Autograd.record(r, "squeeze", g -> new Tensor[] {g.reshape(in)}, t);
    }

    static Tensor unsqueeze(Tensor t, int dim) {
        int d = Shapes.dim("unsqueeze", dim, t.rank() + 1);
        int[] in = t.shape(), strides = t.strides();
        int stride = d < in.length ? strides[d] * in[d] : 1;
        Tensor r = viewOf(t, Shapes.insert(in, d, 1), Shapes.insert(strides, d, stride), t.offset());
        return Autograd.record(r, "unsqueeze", g -> new Tensor[] {g.reshape(in)}, t);
    }

    static Tensor flatten(Tensor t, int startDim, int endDim) {
        int rank = t.rank();
        if (rank == 0) return reshape(t, new int[] {1});
        int s = Shapes.dim("flatten", startDim, rank), e = Shapes.dim("flatten", endDim, rank);
        if (s > e) throw new IllegalArgumentException("flatten: start dim " + s + " after end dim " + e);
        int[] in = t.shape();
        int[] out = new int[rank - (e - s)];
        int k = 0;
        for (int i = 0; i < s; i++) out[k++] = in[i];
        int merged = 1;
        for (int i = s; i <= e; i++) merged *= in[i];
        out[k++] = merged;
        for (int i = e + 1; i < rank; i++) out[k++] = in[i];
        return reshape(t, out);
    }
}
