package dev.loupe.tensor;

import java.util.Arrays;

/** Matrix products and their gradients (einsum, built on them, is in {@link Einsum}). */
final class LinearAlgebra {
    private LinearAlgebra() {
    }

    static Tensor matmul(Tensor a, Tensor b) {
        if (a.rank() == 0 || b.rank() == 0) {
            throw new IllegalArgumentException("matmul: " + Shapes.format(a.shape()) + " @ " + Shapes.format(b.shape())
                    + ": scalars have no matrix product (use mul)");
        }
        boolean vecA = a.rank() == 1, vecB = b.rank() == 1;
        Tensor a2 = vecA ? a.unsqueeze(0) : a;
        Tensor b2 = vecB ? b.unsqueeze(1) : b;
        int k = a2.size(-1);
        if (b2.size(-2) != k) {
            throw new IllegalArgumentException("matmul: " + Shapes.format(a.shape()) + " @ " + Shapes.format(b.shape())
                    + ": inner dims " + k + " and " + b2.size(-2) + " differ");
        }
        Tensor out;
        if (b2.rank() == 2 && a2.rank() > 2) {
            // [batch..., m, k] @ [k, n]: one GEMM over all rows instead of one per batch entry.
            int[] lead = Arrays.copyOf(a2.shape(), a2.rank() - 1);
            // Rows counted explicitly: reshape(-1, k) cannot infer them when k is 0.
            Tensor flat = mm(a2.reshape(Shapes.numel(lead), k), b2);
            out = flat.reshape(Shapes.insert(lead, lead.length, b2.size(-1)));
        } else {
            int[] batchA = Arrays.copyOf(a2.shape(), a2.rank() - 2), batchB = Arrays.copyOf(b2.shape(), b2.rank() - 2);
            int[] batch = Shapes.broadcast("matmul", batchA, batchB);
            int[] shapeA = concat(batch, a2.size(-2), k), shapeB = concat(batch, k, b2.size(-1));
            out = mm(a2.expand(shapeA), b2.expand(shapeB));
        }
        if (vecA) out = out.squeeze(-2);
        if (vecB) out = out.squeeze(-1);
        return out;
    }

    /** x [..., k], w [k, n], bias null or [n]; throws naming the shapes otherwise. */
    private static void checkLinear(Tensor x, Tensor w, Tensor bias) {
        if (x.rank() == 0 || w.rank() != 2 || x.size(-1) != w.size(0)) {
            throw new IllegalArgumentException("linear: " + Shapes.format(x.shape()) + " @ " + Shapes.format(w.shape())
                    + ": needs [..., k] @ [k, n]");
        }
        int n = w.size(1);
        if (bias != null && (bias.rank() != 1 || bias.size(0) != n)) {
            throw new IllegalArgumentException("linear: bias " + Shapes.format(bias.shape()) + " for "
                    + Shapes.format(x.shape()) + " @ " + Shapes.format(w.shape()) + " must be [" + n + "]");
        }
    }

    static Tensor linear(Tensor x, Tensor w, Tensor bias) {
        checkLinear(x, w, bias);
        if (bias == null) return matmul(x, w);
        int k = w.size(0), n = w.size(1);
        int[] lead = Arrays.copyOf(x.shape(), x.rank() - 1);
        Tensor flat = x.reshape(Shapes.numel(lead), k);
        Backend be = OpSupport.backend("linear", flat, w, bias);
        Tensor out = OpSupport.alloc(be, new int[] {flat.size(0), n});
        be.matmulBias(flat, w, bias, out);
        out = Autograd.record(out, "linear", g -> new Tensor[] {
            flat.requiresGrad() ? mm(g, w.detach().transpose(-1, -2)) : null,
            w.requiresGrad() ? mm(flat.detach().transpose(-1, -2), g) : null,
            bias.requiresGrad() ? g.sum(0) : null}, flat, w, bias);
        return out.reshape(Shapes.insert(lead, lead.length, n));
    }

    /** The ops {@link #linear(Tensor, Tensor, Tensor, UnaryOp)} accepts: parameterless, with gradients. */
    private static final java.util.Set<UnaryOp> ACTIVATIONS = java.util.EnumSet.of(UnaryOp.GELU_ERF, UnaryOp.GELU_TANH,
            UnaryOp.RELU, UnaryOp.TANH, UnaryOp.SIGMOID);

    static Tensor linear(Tensor x, Tensor w, Tensor bias, UnaryOp act) {
        if (!ACTIVATIONS.contains(act)) {
            throw new IllegalArgumentException("linear: activation " + act + " is not one of " + ACTIVATIONS);
        }
        if (Autograd.needsGrad(x, w, bias)) {
            // The fused kernel keeps no pre-activation for the backward pass: record the two steps instead.
            return Elementwise.unary(act, linear(x, w, bias), 0f, 0f);
        }
        checkLinear(x, w, bias);
        int k = w.size(0), n = w.size(1);
        int[] lead = Arrays.copyOf(x.shape(), x.rank() - 1);
        Tensor flat = x.reshape(Shapes.numel(lead), k);
        Backend be = OpSupport.backend("linear", flat, w, bias);
        Tensor out = OpSupport.alloc(be, new int[] {flat.size(0), n});
        be.matmulBiasUnary(flat, w, bias, act, out);
        return out.reshape(Shapes.insert(lead, lead.length, n));
    }

    private static int[] concat(int[] batch, int x, int y) {
        int[] s = Arrays.copyOf(batch, batch.length + 2);
        s[batch.length] = x;
        s[batch.length + 1] = y;
        return s;
    }

    /** [batch..., m, k] @ [batch..., k, n] with equal batch dims: the recorded primitive. */
    private static Tensor mm(Tensor a, Tensor b) {
        Backend be = OpSupport.backend("matmul", a, b);
        int[] shape = a.shape();
        shape[shape.length - 1] = b.size(-1);
        Tensor out = OpSupport.alloc(be, shape);
        be.matmul(a, b, out, false);
        return Autograd.record(out, "matmul", g -> new Tensor[] {
            a.requiresGrad() ? mm(g, b.detach().transpose(-1, -2)) : null,
            b.requiresGrad() ? mm(a.detach().transpose(-1, -2), g) : null}, a, b);
    }
}
