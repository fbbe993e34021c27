package dev.loupe.tensor.cpu;

import dev.loupe.tensor.Parallel;
import dev.loupe.tensor.Tensor;

/**
 * Scaled dot-product attention on the CPU, one (batch, head) pair at a time: its scores [p, s] go into a per-thread
 * scratch tile (16 KiB for 64 positions, so they stay in L1/L2), are scaled, masked and softmaxed there, and the
 * product with V is written straight into the output's [b, p, h, d] layout. Every step is the arithmetic of the
 * composite path (the same GEMM calls, {@code x * scale + mask} in two roundings, {@link NNKernels}' softmax row), so
 * both give the same numbers.
 */
final class AttentionKernel {
    /** Per-thread scores tile, grown once. */
    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);

    private AttentionKernel() {
    }

    /**
     * {@code out[b, i, h, :] = softmax_j(q[b, i, h, :]·k[b, j, h, :]·scale + mask[b, 0, i, j]) · v[b, j, h, :]}.
     * q [b, p, h, d], k and v [b, s, h, d], each with unit stride along d; mask null or [b, 1, p, s] with any strides;
     * out contiguous [b, p, h, d].
     */
    static void attention(Tensor q, Tensor k, Tensor v, float scale, Tensor mask, Tensor out) {
        int b = q.size(0), p = q.size(1), h = q.size(2), d = q.size(3), s = k.size(1);
        if (b * h * p == 0 || d == 0) {
            ElementwiseKernels.fill(out, 0f); // an empty sum: zeros, as the composite matmul gives
            return;
        }
        float[] qa = Rows.array(q), ka = Rows.array(k), va = Rows.array(v), oa = Rows.array(out);
        float[] ma = mask == null ? null : Rows.array(mask);
        int[] qs = q.strides(), ks = k.strides(), vs = v.strides(), os = out.strides();
        int[] ms = mask == null ? null : mask.strides();
        long flops = 2L * p * s * d;
        Parallel.forRange(b * h, (int) Math.max(1, (1 << 18) / Math.max(1, flops)), (from, to) -> {
            float[] sc = SCRATCH.get();
            if (sc.length < p * s) {
                sc = new float[p * s];
                SCRATCH.set(sc);
            }
            for (int bh = from; bh < to; bh++) {
                int bi = bh / h, hi = bh % h;
                int qo = q.offset() + bi * qs[0] + hi * qs[2], ko = k.offset() + bi * ks[0] + hi * ks[2];
                int vo = v.offset() + bi * vs[0] + hi * vs[2], oo = out.offset() + bi * os[0] + hi * os[2];
                // scores[i, j] = q_i · k_j: K read transposed through its strides.
                Gemm.gemm(p, s, d, qa, qo, qs[1], 1, ka, ko, 1, ks[1], sc, 0, s, false, 1);
                for (int i = 0; i < p; i++) {
                    int r = i * s;
                    if (scale != 1f) {
                        for (int j = 0; j < s; j++) sc[r + j] *= scale;
                    }
                    if (ma != null) {
                        int mo = mask.offset() + bi * ms[0] + i * ms[2];
                        for (int j = 0; j < s; j++) sc[r + j] += ma[mo + j * ms[3]];
                    }
                    float max = NNKernels.rowMax(sc, r, s);
                    float sum = VectorMath.expShiftedRow(sc, r, max, sc, r, s);
                    NNKernels.scale(sc, r, s, 1f / sum);
                }
                Gemm.gemm(p, d, s, sc, 0, s, 1, va, vo, vs[1], 1, oa, oo, os[1], false, 1);
            }
        });
    }
}
