package dev.loupe.tensor;

/**
 * The short list of primitives a device implements; every {@link Tensor} op, and its gradient, is composed from them.
 * A new device (CUDA, in the {@code kernels} module) implements this interface and registers with
 * {@link Backends#register}; callers never change.
 *
 * <p>Conventions, for every method: operands are views of this backend's device and may have any strides (zero
 * strides for broadcast dims included) unless a parameter says "contiguous"; outputs are written in place and are
 * freshly allocated, contiguous and non-overlapping unless stated; shapes have been checked by the caller, so a
 * backend only asserts them. Index operands hold whole numbers stored as float32.
 */
public interface Backend {
    /** The device whose storages this backend reads and writes. */
    Device device();

    /** A zero-filled float32 storage of {@code numel} elements on this device. */
    Storage allocate(int numel);

    /** Copies {@code src} into {@code dst} elementwise; same shape; {@code dst} may be a strided view. */
    void copy(Tensor src, Tensor dst);

    /** Sets every element of {@code dst} (any strides) to {@code value}. */
    void fill(Tensor dst, float value);

    /** {@code out = op(a; p0, p1)}; {@code a} and {@code out} have the same shape. */
    void unary(UnaryOp op, Tensor a, float p0, float p1, Tensor out);

    /** {@code out = op(a, b)}; {@code a} and {@code b} are already expanded to {@code out}'s shape. */
    void binary(BinaryOp op, Tensor a, Tensor b, Tensor out);

    /** {@code out = cond != 0 ? a : b}; all three already expanded to {@code out}'s shape. */
    void where(Tensor cond, Tensor a, Tensor b, Tensor out);

    /** Reduces {@code a} along {@code dim} into {@code out}, which has {@code a}'s shape with that dim set to 1. */
    void reduce(ReduceOp op, Tensor a, int dim, Tensor out);

    /**
     * Max (or min) of {@code a} along {@code dim} and the index of its first occurrence; {@code values} and
     * {@code indices} have {@code a}'s shape with that dim set to 1.
     */
    void argReduce(boolean max, Tensor a, int dim, Tensor values, Tensor indices);

    /**
     * Batched matrix product. {@code a} is [batch..., m, k] and {@code b} is [batch..., k, n] with equal batch dims
     * (possibly stride 0); either may be transposed through its strides. {@code out} is [batch..., m, n]; it is
     * overwritten when {@code accumulate} is false and added to otherwise.
     */
    void matmul(Tensor a, Tensor b, Tensor out, boolean accumulate);

    /**
     * {@code out = a @ b + bias}: as {@link #matmul} without accumulation, with {@code bias} [n] added to every row
     * of every product in the same pass (a linear layer's affine map). The default writes the bias rows and then
     * accumulates the product: two passes, for backends without a fused kernel.
     */
    default void matmulBias(Tensor a, Tensor b, Tensor bias, Tensor out) {
        copy(bias.expand(out.shape()), out);
        matmul(a, b, out, true);
    }

    /**
     * {@code out = op(a @ b + bias)}: as {@link #matmulBias} ({@code bias} may be null: the plain product), then the
     * parameterless elementwise {@code op} on every element of {@code out}, with the values {@link #unary} gives. A
     * fused kernel applies it to each block of the product while the block is in cache; the default runs the two
     * steps.
     */
    default void matmulBiasUnary(Tensor a, Tensor b, Tensor bias, UnaryOp op, Tensor out) {
        if (bias == null) {
            matmul(a, b, out, false);
        } else {
            matmulBias(a, b, bias, out);
        }
        unary(op, out, 0f, 0f, out);
    }

    /**
     * Scaled dot-product attention into contiguous {@code out} [b, p, h, d], and, when {@code lse} is not null, each
     * query row's log-sum-exp of its masked scores into contiguous {@code lse} [b, h, p] (what
     * {@link #attentionBackward} recomputes the pattern from). {@code q} [b, p, h, d], {@code k} and {@code v}
     * [b, s, h, d], each with unit stride along d; {@code mask} null or [b, 1, p, s] (strides 0 allowed), an additive
     * constant. See {@link Tensor#attention}. The default runs the composite ops (scores, softmax, product) on this
     * backend, for backends without a fused kernel.
     */
    default void attention(Tensor q, Tensor k, Tensor v, float scale, Tensor mask, Tensor out, Tensor lse) {
        try (var scope = Autograd.noGrad()) {
            Tensor scores = Attention.scores(q, k, scale, mask); // [b, h, p, s]
            out.copyFrom(Attention.weigh(scores.softmax(-1), v));
            if (lse != null) lse.copyFrom(scores.logsumexp(-1, false));
        }
    }

    /**
     * Gradients of {@link #attention} for the output gradient {@code gOut} [b, p, h, d] (contiguous): writes
     * {@code gq} [b, p, h, d] and {@code gk}, {@code gv} [b, s, h, d] (contiguous, overwritten). {@code q}, {@code k},
     * {@code v}, {@code scale}, {@code mask} are the forward's operands; {@code out} [b, p, h, d] and {@code lse}
     * [b, h, p] its results (contiguous). The mask gets no gradient. The default recomputes the [b, h, p, s] pattern
     * with the composite ops and applies the softmax backward primitive, for backends without a fused kernel.
     */
    default void attentionBackward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor gOut, float scale,
                                   Tensor mask, Tensor gq, Tensor gk, Tensor gv) {
        try (var scope = Autograd.noGrad()) {
            Tensor pattern = Attention.scores(q, k, scale, mask).softmax(-1); // [b, h, p, s], contiguous
            Tensor g = gOut.permute(0, 2, 1, 3); // [b, h, p, d]
            gv.copyFrom(pattern.transpose(2, 3).matmul(g).permute(0, 2, 1, 3));
            Tensor gPattern = g.matmul(v.permute(0, 2, 3, 1)).contiguous(); // [b, h, p, s]
            Tensor gScores = OpSupport.alloc(this, pattern.shape());
            softmaxBackward(pattern, gPattern, false, gScores);
            if (scale != 1f) gScores = gScores.mul(scale);
            gq.copyFrom(gScores.matmul(k.permute(0, 2, 1, 3)).permute(0, 2, 1, 3));
            gk.copyFrom(gScores.transpose(2, 3).matmul(q.permute(0, 2, 1, 3)).permute(0, 2, 1, 3));
        }
    }

    /** Softmax (or log-softmax) of contiguous {@code a} over its last dim into {@code out}. */
    void softmax(Tensor a, boolean log, Tensor out);

    /**
     * Gradient of softmax (or log-softmax) over the last dim: given the forward output {@code y} and its gradient
     * {@code gy} (both contiguous), writes the input gradient to {@code gx}.
     */
    void softmaxBackward(Tensor y, Tensor gy, boolean log, Tensor gx);

    /**
     * LayerNorm over the last dim of contiguous {@code x} [rows, d]: {@code out = (x - mean) * rstd * weight + bias}.
     * {@code weight}, {@code bias} are [d] or null; {@code mean} and {@code rstd} ([rows]) receive the statistics.
     */
    void layerNorm(Tensor x, Tensor weight, Tensor bias, float eps, Tensor out, Tensor mean, Tensor rstd);

    /**
     * Backward of {@link #layerNorm}: writes {@code gx} [rows, d], and adds into {@code gWeight}, {@code gBias}
     * ([d], either null when not wanted).
     */
    void layerNormBackward(Tensor x, Tensor weight, Tensor mean, Tensor rstd, Tensor gy,
                           Tensor gx, Tensor gWeight, Tensor gBias);

    /** {@code out} = slices of {@code a} along {@code dim} at {@code index} [n]; out's {@code dim} has size n. */
    void indexSelect(Tensor a, int dim, Tensor index, Tensor out);

    /** {@code dst[..., index[i], ...] += src[..., i, ...]} along {@code dim}; {@code dst} is contiguous. */
    void indexAdd(Tensor dst, int dim, Tensor index, Tensor src);

    /** {@code out[i][j][k] = a[i][index[i][j][k]][k]} for {@code dim == 1}, and likewise for any dim. */
    void gather(Tensor a, int dim, Tensor index, Tensor out);

    /** {@code dst[i][index[i][j][k]][k] += src[i][j][k]} for {@code dim == 1}; {@code dst} is contiguous. */
    void scatterAdd(Tensor dst, int dim, Tensor index, Tensor src);

    /**
     * The {@code k} largest (or smallest) entries of {@code a} along its last dim, sorted, ties by lower index;
     * {@code values} and {@code indices} are [..., k].
     */
    void topK(Tensor a, int k, boolean largest, Tensor values, Tensor indices);

    /**
     * One AdamW step in place: {@code param}, {@code m}, {@code v} are updated from {@code grad} as
     * {@link AdamWUpdate} states, in exactly its float32 operations; all four are contiguous [n].
     */
    void adamW(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWUpdate update);

    /**
     * One SGD step in place: {@code param} (and the momentum {@code buffer}, null without momentum) are updated from
     * {@code grad} as {@link SgdUpdate} states, with its fused multiply-adds; all contiguous [n].
     */
    void sgd(Tensor param, Tensor grad, Tensor buffer, SgdUpdate update);
}
