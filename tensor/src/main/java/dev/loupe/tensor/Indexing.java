package dev.loupe.tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Index-driven ops (indexSelect, gather, scatterAdd, topK) and joining (cat, stack, split), with gradients.
 *
 * <p>Every index operand is checked on the host before a kernel sees it: a value that is not a whole number throws
 * {@link IllegalArgumentException}, one outside the valid range {@link IndexOutOfBoundsException}; both name the op,
 * the value and the range. Negative indices are not wrapped (as in PyTorch's index ops).
 */
final class Indexing {
    private Indexing() {
    }

    /**
     * Checks that every element of {@code index} is a whole number in [0, size); {@code what} describes the range
     * in messages (e.g. "dim 1 of shape [3, 5]").
     */
    static void checkIndices(String op, Tensor index, int size, String what) {
        float[] v = index.toFloatArray();
        for (float f : v) {
            if (f != Math.rint(f)) { // also catches nan and infinities
                throw new IllegalArgumentException(op + ": index " + f + " is not a whole number (index tensors hold "
                        + "integers as float32; valid range [0, " + size + ") for " + what + ")");
            }
            if (f < 0 || f >= size) {
                throw new IndexOutOfBoundsException(op + ": index " + (long) f + " out of range [0, " + size
                        + ") for " + what);
            }
        }
    }

    private static String dimOf(int d, Tensor a) {
        return "dim " + d + " of shape " + Shapes.format(a.shape());
    }

    // ---------------------------------------------------------------- indexSelect

    /** a [..., size, ...], index [n] (or a scalar, taken as [1]) -> [..., n, ...]. */
    static Tensor indexSelect(Tensor a, int dim, Tensor index) {
        int d = Shapes.dim("indexSelect", dim, Math.max(1, a.rank()));
        if (a.rank() == 0) return indexSelect(a.reshape(1), 0, index).reshape();
        if (index.rank() > 1) {
            throw new IllegalArgumentException("indexSelect: index must be [n] but has shape "
                    + Shapes.format(index.shape()));
        }
        checkIndices("indexSelect", index, a.shape()[d], dimOf(d, a));
        return indexSelectUnchecked("indexSelect", a, d, index.reshape(-1));
    }

    /** indexSelect after the caller has validated {@code index} [n]; gradient by indexAdd into zeros. */
    static Tensor indexSelectUnchecked(String op, Tensor a, int d, Tensor index) {
        Backend be = OpSupport.backend(op, a, index);
        int[] in = a.shape();
        Tensor idx = index.detach();
        Tensor out = OpSupport.alloc(be, Shapes.with(in, d, idx.numel()));
        be.indexSelect(a, d, idx, out);
        return Autograd.record(out, op, g -> {
            Tensor ga = OpSupport.alloc(be, in);
            be.indexAdd(ga, d, idx, g);
            return new Tensor[] {ga};
        }, a);
    }

    // ---------------------------------------------------------------- gather / scatterAdd

    /** a [d0, ..., size, ...], index [i0, ..., m, ...] (same rank, i_k <= d_k off dim) -> index's shape. */
    static Tensor gather(Tensor a, int dim, Tensor index) {
        int d = Shapes.dim("gather", dim, Math.max(1, a.rank()));
        if (a.rank() == 0) return gather(a.reshape(1), 0, index.reshape(-1)).reshape(index.shape());
        checkGeometry("gather", a, d, index, null);
        checkIndices("gather", index, a.shape()[d], dimOf(d, a));
        Backend be = OpSupport.backend("gather", a, index);
        int[] in = a.shape();
        Tensor idx = index.detach();
        Tensor out = OpSupport.alloc(be, idx.shape());
        be.gather(a, d, idx, out);
        return Autograd.record(out, "gather", g -> {
            Tensor ga = OpSupport.alloc(be, in);
            be.scatterAdd(ga, d, idx, g);
            return new Tensor[] {ga};
        }, a);
    }

    /**
     * a [d0, ..., size, ...] plus src [s0, ...] scattered at index [i0, ...] (same rank; i_k <= s_k, and i_k <= d_k
     * off dim) -> a new tensor shaped like a. Only the index-shaped corner of src is used.
     */
    static Tensor scatterAdd(Tensor a, int dim, Tensor index, Tensor src) {
        int d = Shapes.dim("scatterAdd", dim, Math.max(1, a.rank()));
        if (a.rank() == 0) {
            return scatterAdd(a.reshape(1), 0, index.reshape(-1), src.reshape(-1)).reshape();
        }
        checkGeometry("scatterAdd", a, d, index, src);
        checkIndices("scatterAdd", index, a.shape()[d], dimOf(d, a));
        Backend be = OpSupport.backend("scatterAdd", a, index, src);
        int[] srcShape = src.shape(), idxShape = index.shape();
        Tensor idx = index.detach();
        Tensor out = OpSupport.alloc(be, a.shape());
        be.copy(a, out);
        be.scatterAdd(out, d, idx, src);
        return Autograd.record(out, "scatterAdd", g -> {
            Tensor gSrc = null;
            if (src.requiresGrad()) {
                Tensor picked = OpSupport.alloc(be, idxShape);
                be.gather(g, d, idx, picked);
                if (Arrays.equals(idxShape, srcShape)) {
                    gSrc = picked;
                } else { // src elements outside index's corner got no use, so no gradient
                    gSrc = OpSupport.alloc(be, srcShape);
                    Tensor corner = gSrc;
                    for (int k = 0; k < idxShape.length; k++) corner = corner.narrow(k, 0, idxShape[k]);
                    be.copy(picked, corner);
                }
            }
            return new Tensor[] {g, gSrc};
        }, a, src);
    }

    /** Rank and size rules shared by gather and scatterAdd, with messages naming every shape. */
    private static void checkGeometry(String op, Tensor a, int d, Tensor index, Tensor src) {
        int[] as = a.shape(), is = index.shape();
        String shapes = "input " + Shapes.format(as) + ", index " + Shapes.format(is)
                + (src == null ? "" : ", src " + Shapes.format(src.shape()));
        if (is.length != as.length || (src != null && src.rank() != as.length)) {
            throw new IllegalArgumentException(op + ": index" + (src == null ? "" : " and src") + " must have the "
                    + "rank of the input (" + shapes + ")");
        }
        for (int k = 0; k < as.length; k++) {
            if ((k != d && is[k] > as[k]) || (src != null && is[k] > src.shape()[k])) {
                throw new IllegalArgumentException(op + ": index dim " + k + " of size " + is[k] + " exceeds "
                        + (src != null && is[k] > src.shape()[k] ? "src" : "input") + " (" + shapes + ", dim " + d
                        + ")");
            }
        }
    }

    // ---------------------------------------------------------------- cat / stack / split

    /** tensors [..., n_i, ...] (equal elsewhere) -> [..., Σ n_i, ...]; the gradient of each is its slice. */
    static Tensor cat(int dim, Tensor... tensors) {
        if (tensors.length == 0) throw new IllegalArgumentException("cat: no tensors to join");
        int[] first = tensors[0].shape();
        if (first.length == 0) throw new IllegalArgumentException("cat: cannot join 0-dimensional tensors; use stack");
        int d = Shapes.dim("cat", dim, first.length);
        int total = 0;
        for (int i = 0; i < tensors.length; i++) {
            int[] s = tensors[i].shape();
            boolean ok = s.length == first.length;
            for (int k = 0; ok && k < s.length; k++) ok = k == d || s[k] == first[k];
            if (!ok) {
                throw new IllegalArgumentException("cat: along dim " + d + " tensor " + i + " has shape "
                        + Shapes.format(s) + " but tensor 0 has " + Shapes.format(first)
                        + " (all dims but the joined one must match)");
            }
            total += s[d];
        }
        Backend be = OpSupport.backend("cat", tensors);
        Tensor out = OpSupport.alloc(be, Shapes.with(first, d, total));
        int[] starts = new int[tensors.length];
        try (Autograd.Scope ignored = Autograd.noGrad()) {
            int start = 0;
            for (int i = 0; i < tensors.length; i++) {
                starts[i] = start;
                int n = tensors[i].shape()[d];
                be.copy(tensors[i], out.narrow(d, start, n));
                start += n;
            }
        }
        Tensor[] inputs = tensors.clone();
        return Autograd.record(out, "cat", g -> {
            Tensor[] gs = new Tensor[inputs.length];
            for (int i = 0; i < inputs.length; i++) gs[i] = g.narrow(d, starts[i], inputs[i].shape()[d]);
            return gs;
        }, inputs);
    }

    /** n tensors of equal shape [...] -> [..., n, ...] with the new dim at {@code dim}. */
    static Tensor stack(int dim, Tensor... tensors) {
        if (tensors.length == 0) throw new IllegalArgumentException("stack: no tensors to join");
        int[] first = tensors[0].shape();
        int d = Shapes.dim("stack", dim, first.length + 1);
        Tensor[] parts = new Tensor[tensors.length];
        for (int i = 0; i < tensors.length; i++) {
            if (!Arrays.equals(tensors[i].shape(), first)) {
                throw new IllegalArgumentException("stack: tensor " + i + " has shape "
                        + Shapes.format(tensors[i].shape()) + " but tensor 0 has " + Shapes.format(first)
                        + " (all must be equal)");
            }
            parts[i] = tensors[i].unsqueeze(d);
        }
        return cat(d, parts);
    }

    /** Views of a along {@code dim}: chunks of one size (last may be shorter), or pieces of the given sizes. */
    static List<Tensor> split(Tensor a, int dim, int... sizes) {
        int d = Shapes.dim("split", dim, a.rank());
        int size = a.shape()[d];
        if (sizes.length == 0) throw new IllegalArgumentException("split: no sizes given");
        List<Tensor> out = new ArrayList<>();
        if (sizes.length == 1) {
            int chunk = sizes[0];
            if (chunk <= 0 && !(chunk == 0 && size == 0)) {
                throw new IllegalArgumentException("split: chunk size must be positive but was " + chunk
                        + " (dim " + d + " of shape " + Shapes.format(a.shape()) + ")");
            }
            if (size == 0) return List.of(a.narrow(d, 0, 0));
            for (int start = 0; start < size; start += chunk) out.add(a.narrow(d, start, Math.min(chunk, size - start)));
            return out;
        }
        long sum = 0;
        for (int s : sizes) {
            if (s < 0) throw new IllegalArgumentException("split: negative size " + s + " in " + Arrays.toString(sizes));
            sum += s;
        }
        if (sum != size) {
            throw new IllegalArgumentException("split: sizes " + Arrays.toString(sizes) + " add up to " + sum
                    + " but dim " + d + " of shape " + Shapes.format(a.shape()) + " has size " + size);
        }
        int start = 0;
        for (int s : sizes) {
            out.add(a.narrow(d, start, s));
            start += s;
        }
        return out;
    }

    // ---------------------------------------------------------------- topK

    /** a [..., n, ...] -> values and indices [..., k, ...]; the values' gradient is scattered back to the indices. */
    static Tensor.TopK topK(Tensor a, int k, int dim, boolean largest) {
        if (a.rank() == 0) {
            Tensor.TopK r = topK(a.reshape(1), k, 0, largest);
            return new Tensor.TopK(r.values().reshape(), r.indices().reshape());
        }
        int d = Shapes.dim("topK", dim, a.rank());
        int size = a.shape()[d];
        if (k < 0 || k > size) {
            throw new IllegalArgumentException("topK: k = " + k + " out of range [0, " + size + "] for dim " + d
                    + " of shape " + Shapes.format(a.shape()));
        }
        Backend be = a.backend();
        int last = a.rank() - 1;
        Tensor values, indices;
        try (Autograd.Scope ignored = Autograd.noGrad()) {
            Tensor moved = a.detach().transpose(d, last); // the kernel works on the last dim; this is a free view
            int[] outShape = Shapes.with(moved.shape(), last, k);
            Tensor v = OpSupport.alloc(be, outShape), ix = OpSupport.alloc(be, outShape);
            be.topK(moved, k, largest, v, ix);
            values = v.transpose(d, last).contiguous();
            indices = ix.transpose(d, last).contiguous();
        }
        int[] in = a.shape();
        Tensor idx = indices;
        Tensor out = Autograd.record(values, "topK", g -> {
            Tensor ga = OpSupport.alloc(be, in);
            be.scatterAdd(ga, d, idx, g);
            return new Tensor[] {ga};
        }, a);
        return new Tensor.TopK(out, indices);
    }
}
