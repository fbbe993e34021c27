package dev.loupe.tensor;

import java.util.Arrays;

/** Reductions along dims, and their gradients. */
final class Reductions {
    private Reductions() {
    }

    /** Sorted, distinct, non-negative dims, or an exception naming the op. */
    private static int[] normalize(String op, int[] dims, int rank) {
        int[] d = new int[dims.length];
        for (int i = 0; i < dims.length; i++) d[i] = Shapes.dim(op, dims[i], rank);
        Arrays.sort(d);
        for (int i = 1; i < d.length; i++) {
            if (d[i] == d[i - 1]) throw new IllegalArgumentException(op + ": dim " + d[i] + " listed twice");
        }
        return d;
    }

    /** {@code shape} with each of {@code dims} (sorted) set to 1. */
    private static int[] keptShape(int[] shape, int[] dims) {
        int[] out = shape.clone();
        for (int d : dims) out[d] = 1;
        return out;
    }

    /** {@code shape} with each of {@code dims} (sorted) removed. */
    private static int[] droppedShape(int[] shape, int[] dims) {
        int[] out = shape;
        for (int i = dims.length - 1; i >= 0; i--) out = Shapes.remove(out, dims[i]);
        return out;
    }

    /** Reduces {@code a} over each of the sorted {@code dims}, keeping them as size 1; no graph is recorded. */
    private static Tensor reduceKeep(ReduceOp op, Tensor a, int[] dims) {
        Backend be = a.backend();
        Tensor cur = a;
        for (int d : dims) {
            Tensor out = OpSupport.alloc(be, Shapes.with(cur.shape(), d, 1));
            be.reduce(op, cur, d, out);
            cur = out;
        }
        return cur;
    }

    static Tensor sum(Tensor a, int[] dims, boolean keepdim) {
        int[] d = normalize("sum", dims, a.rank());
        int[] in = a.shape();
        Tensor kept = reduceKeep(ReduceOp.SUM, a, d);
        Tensor out = keepdim ? kept : kept.detach().reshape(droppedShape(in, d));
        int[] keptShape = keptShape(in, d);
        return Autograd.record(out.detach(), "sum", g -> new Tensor[] {g.reshape(keptShape).expand(in)}, a);
    }

    static Tensor mean(Tensor a, int[] dims, boolean keepdim) {
        int[] d = normalize("mean", dims, a.rank());
        long count = 1;
        for (int k : d) count *= a.shape()[k];
        return sum(a, d, keepdim).mul(1f / count);
    }

    /** Max (or min) over one dim; gradient to the first extremal element. */
    static Tensor max(Tensor a, int dim, boolean keepdim, boolean max) {
        String op = max ? "max" : "min";
        int d = Shapes.dim(op, dim, a.rank());
        Tensor[] vi = argReduce(a, d, max);
        Tensor values = keepdim ? vi[0] : vi[0].squeeze(d);
        Tensor idx = vi[1];
        int[] in = a.shape();
        return Autograd.record(values.detach(), op, g -> {
            Tensor gk = keepdim ? g : g.unsqueeze(d);
            return new Tensor[] {Tensor.zeros(in).scatterAdd(d, idx, gk)};
        }, a);
    }

    static Tensor argmax(Tensor a, int dim, boolean keepdim, boolean max) {
        int d = Shapes.dim(max ? "argmax" : "argmin", dim, a.rank());
        Tensor idx = argReduce(a, d, max)[1];
        return keepdim ? idx : idx.squeeze(d);
    }

    private static Tensor[] argReduce(Tensor a, int d, boolean max) {
        if (a.shape()[d] == 0) {
            throw new IllegalArgumentException((max ? "max" : "min") + ": dim " + d + " of shape "
                    + Shapes.format(a.shape()) + " is empty");
        }
        Backend be = a.backend();
        int[] shape = Shapes.with(a.shape(), d, 1);
        Tensor values = OpSupport.alloc(be, shape), indices = OpSupport.alloc(be, shape);
        be.argReduce(max, a, d, values, indices);
        return new Tensor[] {values, indices};
    }

    static Tensor logsumexp(Tensor a, int dim, boolean keepdim) {
        int d = Shapes.dim("logsumexp", dim, a.rank());
        Tensor m;
        try (Autograd.Scope ignored = Autograd.noGrad()) {
            m = a.max(d, true);
            // Rows of -inf would give nan from (-inf) - (-inf); shift them by 0 instead.
            m = Tensor.where(m.abs().eq(Float.POSITIVE_INFINITY), Tensor.scalar(0f), m);
        }
        Tensor out = a.sub(m).exp().sum(d, true).log().add(m);
        return keepdim ? out : out.squeeze(d);
    }

    static Tensor var(Tensor a, int dim, boolean keepdim, int correction) {
        int d = Shapes.dim("var", dim, a.rank());
        int n = a.shape()[d];
        Tensor centered = a.sub(a.mean(d, true));
        return centered.square().sum(d, keepdim).mul(1f / Math.max(0, n - correction));
    }

    static Tensor norm(Tensor a, float p, int dim, boolean keepdim) {
        if (p <= 0) throw new IllegalArgumentException("norm: p must be positive but was " + p);
        int d = Shapes.dim("norm", dim, a.rank());
        if (p == 2f) return a.square().sum(d, keepdim).sqrt();
        if (p == 1f) return a.abs().sum(d, keepdim);
        return a.abs().pow(p).sum(d, keepdim).pow(1f / p);
    }

    static Tensor cosineSimilarity(Tensor a, Tensor b, int dim, float eps) {
        int rank = Shapes.broadcast("cosineSimilarity", a.shape(), b.shape()).length;
        int d = Shapes.dim("cosineSimilarity", dim, rank);
        int da = d - (rank - a.rank()), db = d - (rank - b.rank());
        if (da < 0 || db < 0) {
            throw new IllegalArgumentException("cosineSimilarity: dim " + dim + " missing from " + Shapes.format(a.shape())
                    + " or " + Shapes.format(b.shape()));
        }
        Tensor dot = a.mul(b).sum(d);
        Tensor na = a.norm(2f, da, false).clamp(eps, Float.MAX_VALUE);
        Tensor nb = b.norm(2f, db, false).clamp(eps, Float.MAX_VALUE);
        return dot.div(na.mul(nb));
    }

    static Tensor sumTo(Tensor a, int[] shape) {
        int[] in = a.shape();
        if (Arrays.equals(in, shape)) return a;
        int lead = in.length - shape.length;
        if (lead < 0) {
            throw new IllegalArgumentException("sumTo: cannot reduce " + Shapes.format(in) + " to more dims "
                    + Shapes.format(shape));
        }
        int[] dims = new int[in.length];
        int n = 0;
        for (int i = 0; i < in.length; i++) {
            if (i < lead) {
                dims[n++] = i;
            } else if (shape[i - lead] == 1 && in[i] != 1) {
                dims[n++] = i;
            } else if (shape[i - lead] != in[i]) {
                throw new IllegalArgumentException("sumTo: " + Shapes.format(in) + " does not broadcast from "
                        + Shapes.format(shape));
            }
        }
        return sum(a, Arrays.copyOf(dims, n), true).reshape(shape);
    }
}
