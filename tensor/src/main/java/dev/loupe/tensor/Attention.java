package dev.loupe.tensor;

import java.util.Arrays;

/**
 * Scaled dot-product attention as one differentiable op, {@code softmax(q·kᵀ·scale + mask)·v}. The forward
 * ({@link Backend#attention}) writes the output straight into the [batch, pos, head, d_head] layout and, when a
 * gradient will be needed, each query row's log-sum-exp [batch, head, pos]; the backward
 * ({@link Backend#attentionBackward}) recomputes the pattern from q, k and that log-sum-exp. So neither pass keeps
 * the [batch, head, pos, key_pos] scores or pattern alive: the graph holds q, k, v, the output and the log-sum-exp.
 * The mask is an additive constant and gets no gradient.
 */
final class Attention {
    private Attention() {
    }

    static Tensor apply(Tensor q, Tensor k, Tensor v, float scale, Tensor mask) {
        if (q.rank() != 4 || k.rank() != 4 || v.rank() != 4 || k.size(0) != q.size(0) || v.size(0) != q.size(0)
                || k.size(2) != q.size(2) || v.size(2) != q.size(2) || k.size(3) != q.size(3)
                || !Arrays.equals(k.shape(), v.shape())) {
            throw new IllegalArgumentException("attention: q " + Shapes.format(q.shape()) + ", k "
                    + Shapes.format(k.shape()) + ", v " + Shapes.format(v.shape()) + " must be [b, p, h, d], "
                    + "[b, s, h, d] and [b, s, h, d]");
        }
        int b = q.size(0), p = q.size(1), h = q.size(2), s = k.size(1);
        Tensor m = null;
        if (mask != null) {
            int[] full = {b, 1, p, s};
            if (mask.rank() != 4 || !Arrays.equals(Shapes.broadcast("attention mask", mask.shape(), full), full)) {
                throw new IllegalArgumentException("attention: mask " + Shapes.format(mask.shape())
                        + " does not broadcast to " + Shapes.format(full));
            }
            if (Autograd.needsGrad(mask)) {
                throw new IllegalArgumentException("attention: the mask " + Shapes.format(mask.shape())
                        + " requires a gradient, but it is an additive constant that gets none; pass mask.detach(), or"
                        + " add a learned bias to the scores with the composite ops");
            }
            m = mask.detach().expand(full);
        }
        boolean grad = Autograd.needsGrad(q, k, v);
        Backend be = OpSupport.backend("attention", q, k, v, m);
        Tensor qd, kd, vd, out, lse;
        try (var off = Autograd.noGrad()) {
            qd = unitLast(q.detach());
            kd = unitLast(k.detach());
            vd = unitLast(v.detach());
            out = OpSupport.alloc(be, q.shape());
            lse = grad ? OpSupport.alloc(be, new int[] {b, h, p}) : null;
            be.attention(qd, kd, vd, scale, m, out, lse);
        }
        if (!grad) return out;
        Tensor saved = out.detach(); // the output's values, without the node that will hang on out itself
        Tensor mk = m;
        return Autograd.record(out, "attention", g -> {
            Tensor gq = OpSupport.alloc(be, q.shape()), gk = OpSupport.alloc(be, k.shape());
            Tensor gv = OpSupport.alloc(be, v.shape());
            be.attentionBackward(qd, kd, vd, saved, lse, g.contiguous(), scale, mk, gq, gk, gv);
            return new Tensor[] {gq, gk, gv};
        }, q, k, v);
    }

    /** Masked, scaled scores [b, h, p, s] from q [b, p, h, d] and k [b, s, h, d], as the composite ops compute them. */
    static Tensor scores(Tensor q, Tensor k, float scale, Tensor mask) {
        Tensor scores = q.permute(0, 2, 1, 3).matmul(k.permute(0, 2, 3, 1)); // [b, h, p, s]
        if (scale != 1f) scores = scores.mul(scale);
        return mask == null ? scores : scores.add(mask);
    }

    /** pattern [b, h, p, s] times v [b, s, h, d], back in the [b, p, h, d] layout (a view). */
    static Tensor weigh(Tensor pattern, Tensor v) {
        return pattern.matmul(v.permute(0, 2, 1, 3)).permute(0, 2, 1, 3);
    }

    /** The kernels walk d_head with unit stride; any other layout is copied once. */
    private static Tensor unitLast(Tensor t) {
        return t.strides()[3] == 1 || t.size(3) == 1 ? t : t.contiguous();
    }
}
