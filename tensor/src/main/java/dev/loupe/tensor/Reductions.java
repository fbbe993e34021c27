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
        if (dims.length == 0) { // nothing to reduce: still a fresh tensor, never an alias of the input
            Tensor copy = OpSupport.alloc(be, a.shape());
            be.copy(a, copy);
            return copy;
        }
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
        Tensor out = keepdim ? kept : kept.view(droppedShape(in, d)); // kept records no graph
        int[] keptShape = keptShape(in, d);
        return Autograd.record(out, "sum", g -> new Tensor[] {g.reshape(keptShape).expand(in)}, a);
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
        Tensor[] vi = argReduce(op, a, d, max);
        Tensor values = keepdim ? vi[0] : vi[0].squeeze(d);
        Tensor idx = vi[1];
        int[] in = a.shape();
        return Autograd.record(values, op, g -> {
            // Straight to the backend: idx came from the kernel, so the public op's index checks would be wasted.
            Backend be = g.backend();
            Tensor ga = OpSupport.alloc(be, in);
            be.scatterAdd(ga, d, idx, keepdim ? g : g.unsqueeze(d));
            return new Tensor[] {ga};
        }, a);
    }

    static Tensor argmax(Tensor a, int dim, boolean keepdim, boolean max) {
        String op = max ? "argmax" : "argmin";
        int d = Shapes.dim(op, dim, a.rank());
        Tensor idx = argReduce(op, a, d, max)[1];
        return keepdim ? idx : idx.squeeze(d);
    }

    /** Values and first indices of the max (min) over dim {@code d}, both keepdim; {@code op} names errors. */
    private static Tensor[] argReduce(String op, Tensor a, int d, boolean max) {
        requireNonEmpty(op, a, d);
        Backend be = a.backend();
        int[] shape = Shapes.with(a.shape(), d, 1);
        Tensor values = OpSupport.alloc(be, shape), indices = OpSupport.alloc(be, shape);
        be.argReduce(max, a, d, values, indices);
        return new Tensor[] {values, indices};
    }

    static Tensor logsumexp(Tensor a, int dim, boolean keepdim) {
        int d = Shapes.dim("logsumexp", dim, a.rank());
        requireNonEmpty("logsumexp", a, d);
        Tensor m;
        try (Autograd.Scope ignored = Autograd.noGrad()) {
            m = a.max(d, true);
            // Rows of -inf would give nan from (-inf) - (-inf); shift them by 0 instead.
            m = Tensor.where(m.abs().eq(Float.POSITIVE_INFINITY), Tensor.scalar(0f, m.device()), m);
        }
        Tensor out = a.sub(m).exp().sum(d, true).log().add(m);
        return keepdim ? out : out.squeeze(d);
    }

    private static void requireNonEmpty(String op, Tensor a, int d) {
        if (a.shape()[d] == 0) {
            throw new IllegalArgumentException(op + ": dim " + d + " of shape " + Shapes.format(a.shape())
                    + " is empty");
        }
    }

    static Tensor var(Tensor a, int dim, boolean keepdim, int correction) {
        int d = Shapes.dim("var", dim, a.rank());
        int n = a.shape()[d];
        Tensor centered = a.sub(a.mean(d, true));
        return centered.square().sum(d, keepdim).mul(1f / Math.max(0, n - correction));
    }

    static Tensor norm(Tensor a, float p, int dim, boolean keepdim) {
        if (!(p > 0) || Float.isInfinite(p)) {
            throw new IllegalArgumentException("norm: p must be positive and finite but was " + p);
        }
        int d = Shapes.dim("norm", dim, a.rank());
        if (p == 2f) return euclideanNorm(a, d, keepdim);
        if (p == 1f) return a.abs().sum(d, keepdim);
        return a.abs().pow(p).sum(d, keepdim).pow(1f / p);
    }

    /** √Σx² over {@code d}, with gradient x/‖x‖ taken as 0 where the norm is 0 (as PyTorch; √ alone gives NaN). */
    private static Tensor euclideanNorm(Tensor a, int d, boolean keepdim) {
        Tensor y;
        try (Autograd.Scope ignored = Autograd.noGrad()) {
            y = a.square().sum(d, true).sqrt();
        }
        Tensor out = keepdim ? y : y.squeeze(d);
        return Autograd.record(out.detach(), "norm", g -> {
            Tensor gk = keepdim ? g : g.unsqueeze(d);
            Tensor safe = Tensor.where(y.eq(0f), Tensor.scalar(1f, y.device()), y);
            return new Tensor[] {a.mul(gk.div(safe))};
        }, a);
    }

    static Tensor cosineSimilarity(Tensor a, Tensor b, int dim, float eps) {
        int[] shape = Shapes.broadcast("cosineSimilarity", a.shape(), b.shape());
        int d = Shapes.dim("cosineSimilarity", dim, shape.length);
        // Norms of the broadcast operands: a size-1 dim of a that meets n elements of b counts n times.
        Tensor ea = a.expand(shape), eb = b.expand(shape);
        Tensor dot = ea.mul(eb).sum(d);
        Tensor na = ea.norm(2f, d, false).clamp(eps, Float.MAX_VALUE);
        Tensor nb = eb.norm(2f, d, false).clamp(eps, Float.MAX_VALUE);
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
