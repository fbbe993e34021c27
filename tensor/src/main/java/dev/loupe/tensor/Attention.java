package dev.loupe.tensor;

import java.util.Arrays;

/**
 * Scaled dot-product attention as one op, {@code softmax(q·kᵀ·scale + mask)·v}, for inference: the backend computes
 * each (batch, head) pair's scores, pattern and output in a scratch tile and writes the output straight into the
 * [batch, pos, head, d_head] layout, so neither the [batch, head, pos, pos] scores and pattern nor a permuted copy of
 * the output are ever allocated. When a gradient is needed it runs as the composite ops (matmul, mul, add, softmax,
 * matmul), which give the same numbers.
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
        int b = q.size(0), p = q.size(1), s = k.size(1);
        Tensor m = null;
        if (mask != null) {
            int[] full = {b, 1, p, s};
            if (mask.rank() != 4 || !Arrays.equals(Shapes.broadcast("attention mask", mask.shape(), full), full)) {
                throw new IllegalArgumentException("attention: mask " + Shapes.format(mask.shape())
                        + " does not broadcast to " + Shapes.format(full));
            }
            m = mask.expand(full);
        }
        if (Autograd.needsGrad(q, k, v, mask)) return composite(q, k, v, scale, mask);
        Backend be = OpSupport.backend("attention", q, k, v, m);
        Tensor out = OpSupport.alloc(be, q.shape());
        be.attention(unitLast(q), unitLast(k), unitLast(v), scale, m, out);
        return out;
    }

    /** The same computation through the recorded ops, for gradients. Output [b, p, h, d]. */
    static Tensor composite(Tensor q, Tensor k, Tensor v, float scale, Tensor mask) {
        Tensor scores = q.permute(0, 2, 1, 3).matmul(k.permute(0, 2, 3, 1)); // [b, h, p, s]
        if (scale != 1f) scores = scores.mul(scale);
        if (mask != null) scores = scores.add(mask);
        return scores.softmax(-1).matmul(v.permute(0, 2, 1, 3)).permute(0, 2, 1, 3).contiguous();
    }

    /** The kernel walks d_head with unit stride; any other layout is copied once. */
    private static Tensor unitLast(Tensor t) {
        return t.strides()[3] == 1 || t.size(3) == 1 ? t : t.contiguous();
    }
}
