package dev.loupe.tensor.cpu;

import dev.loupe.tensor.Parallel;
import dev.loupe.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Scaled dot-product attention on the CPU, forward and backward, one (batch, head) pair per task and a block of query
 * rows at a time: the block's scores [rows, s] live in a per-thread scratch tile of at most {@link #BLOCK_FLOATS}
 * floats (all s keys of up to 64 queries at s = 1024), so neither pass ever holds a [p, s] pattern, let alone the
 * [b, h, p, s] one the composite ops allocate.
 *
 * <p>The forward is the arithmetic of the composite path (the same GEMM calls, {@code x * scale + mask} in two
 * roundings, {@link NNKernels}' softmax row), so both give the same numbers; it also writes each row's log-sum-exp.
 * The backward recomputes the pattern from q, k and that log-sum-exp ({@code P = exp(x - lse)}) instead of storing it.
 */
final class AttentionKernel {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** Scratch per tile: 256 KiB, a quarter of a 1 MiB L2. */
    private static final int BLOCK_FLOATS = 1 << 16;
    /**
     * A row block has at least this many rows, so that each block's GEMMs take the path the whole [p, s] product would
     * take (the direct path below 4 rows rounds differently), which keeps the forward bit-identical to the composite.
     */
    private static final int MIN_BLOCK_ROWS = 8;
    /** Per-thread scratch: [0] scores / pattern / dS block, [1] dP block; grown once. */
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[][] {{}, {}});

    private AttentionKernel() {
    }

    /**
     * {@code out[b, i, h, :] = softmax_j(q[b, i, h, :]·k[b, j, h, :]·scale + mask[b, 0, i, j]) · v[b, j, h, :]} and
     * {@code lse[b, h, i] = log Σ_j exp(scores[b, h, i, j])} (nan for a fully masked row, whose output is nan too, as
     * the composite softmax gives). q [b, p, h, d], k and v [b, s, h, d], each with unit stride along d; mask null or
     * [b, 1, p, s] with any strides; out contiguous [b, p, h, d]; lse contiguous [b, h, p] or null.
     */
    static void attention(Tensor q, Tensor k, Tensor v, float scale, Tensor mask, Tensor out, Tensor lse) {
        int b = q.size(0), p = q.size(1), h = q.size(2), d = q.size(3), s = k.size(1);
        if (b * h * p == 0) return; // out and lse are empty
        float[] qa = Rows.array(q), ka = Rows.array(k), va = Rows.array(v), oa = Rows.array(out);
        float[] la = lse == null ? null : Rows.array(lse);
        int[] qs = q.strides(), ks = k.strides(), vs = v.strides(), os = out.strides();
        int blocks = blockCount(p, s);
        Parallel.forRange(b * h, grain(p, s, d), (from, to) -> {
            float[] sc = scratch(0, rowsPerBlock(p, blocks) * s);
            for (int bh = from; bh < to; bh++) {
                int bi = bh / h, hi = bh % h;
                int qo = q.offset() + bi * qs[0] + hi * qs[2], ko = k.offset() + bi * ks[0] + hi * ks[2];
                int vo = v.offset() + bi * vs[0] + hi * vs[2], oo = out.offset() + bi * os[0] + hi * os[2];
                for (int blk = 0; blk < blocks; blk++) {
                    int i0 = blockStart(p, blocks, blk), rows = blockStart(p, blocks, blk + 1) - i0;
                    scores(rows, s, d, qa, qo + i0 * qs[1], qs[1], ka, ko, ks[1], scale, mask, bi, i0, sc);
                    for (int r = 0; r < rows; r++) {
                        float max = NNKernels.rowMax(sc, r * s, s);
                        float sum = VectorMath.expShiftedRow(sc, r * s, max, sc, r * s, s);
                        NNKernels.scale(sc, r * s, s, 1f / sum);
                        if (la != null) la[lse.offset() + bh * p + i0 + r] = max + (float) Math.log(sum);
                    }
                    Gemm.gemm(rows, d, s, sc, 0, s, 1, va, vo, vs[1], 1, oa, oo + i0 * os[1], os[1], false, 1);
                }
            }
        });
    }

    /**
     * Gradients of {@link #attention}: with {@code P = exp(x - lse)} recomputed block by block, {@code D_i = dO_i·O_i},
     * {@code dS = P ∘ (dO·Vᵀ - D) · scale}: {@code gq = dS·K}, {@code gk = dSᵀ·Q}, {@code gv = Pᵀ·dO}. q, k, v as in
     * the forward; out [b, p, h, d] and gOut [b, p, h, d] contiguous; lse contiguous [b, h, p]; gq, gk, gv contiguous,
     * shaped like q, k, v, overwritten. Each (batch, head) task writes only its own slices of gk and gv, so there are no
     * races and no reduction across threads.
     */
    static void attentionBackward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor gOut, float scale,
                                  Tensor mask, Tensor gq, Tensor gk, Tensor gv) {
        int b = q.size(0), p = q.size(1), h = q.size(2), d = q.size(3), s = k.size(1);
        if (b * h == 0) return;
        if (p == 0) { // no query: the key and value gradients are empty sums
            ElementwiseKernels.fill(gk, 0f);
            ElementwiseKernels.fill(gv, 0f);
            return;
        }
        float[] qa = Rows.array(q), ka = Rows.array(k), va = Rows.array(v), oa = Rows.array(out);
        float[] la = Rows.array(lse), ga = Rows.array(gOut);
        float[] gqa = Rows.array(gq), gka = Rows.array(gk), gva = Rows.array(gv);
        int[] qs = q.strides(), ks = k.strides(), vs = v.strides(), os = out.strides(), gs = gOut.strides();
        int[] gqs = gq.strides(), gks = gk.strides(), gvs = gv.strides();
        int blocks = blockCount(p, s);
        Parallel.forRange(b * h, grain(p, s, 2 * d), (from, to) -> {
            int cap = rowsPerBlock(p, blocks) * s;
            float[] sc = scratch(0, cap), dp = scratch(1, cap);
            for (int bh = from; bh < to; bh++) {
                int bi = bh / h, hi = bh % h;
                int qo = q.offset() + bi * qs[0] + hi * qs[2], ko = k.offset() + bi * ks[0] + hi * ks[2];
                int vo = v.offset() + bi * vs[0] + hi * vs[2], oo = out.offset() + bi * os[0] + hi * os[2];
                int go = gOut.offset() + bi * gs[0] + hi * gs[2], gqo = gq.offset() + bi * gqs[0] + hi * gqs[2];
                int gko = gk.offset() + bi * gks[0] + hi * gks[2], gvo = gv.offset() + bi * gvs[0] + hi * gvs[2];
                for (int blk = 0; blk < blocks; blk++) {
                    int i0 = blockStart(p, blocks, blk), rows = blockStart(p, blocks, blk + 1) - i0;
                    boolean later = blk > 0; // gk and gv accumulate over row blocks; the first one overwrites
                    int qb = qo + i0 * qs[1], gb = go + i0 * gs[1];
                    scores(rows, s, d, qa, qb, qs[1], ka, ko, ks[1], scale, mask, bi, i0, sc);
                    for (int r = 0; r < rows; r++) {
                        VectorMath.expShiftedRow(sc, r * s, la[lse.offset() + bh * p + i0 + r], sc, r * s, s);
                    }
                    // gv[s, d] += Pᵀ[s, rows] · dO[rows, d]
                    Gemm.gemm(s, d, rows, sc, 0, 1, s, ga, gb, gs[1], 1, gva, gvo, gvs[1], later, 1);
                    // dP[rows, s] = dO[rows, d] · Vᵀ[d, s]
                    Gemm.gemm(rows, s, d, ga, gb, gs[1], 1, va, vo, 1, vs[1], dp, 0, s, false, 1);
                    for (int r = 0; r < rows; r++) {
                        float dRow = NNKernels.rowDot(ga, gb + r * gs[1], oa, oo + (i0 + r) * os[1], d);
                        softmaxGrad(sc, dp, r * s, s, dRow, scale);
                    }
                    // gq[rows, d] = dS[rows, s] · K[s, d]; gk[s, d] += dSᵀ[s, rows] · Q[rows, d]
                    Gemm.gemm(rows, d, s, sc, 0, s, 1, ka, ko, ks[1], 1, gqa, gqo + i0 * gqs[1], gqs[1], false, 1);
                    Gemm.gemm(s, d, rows, sc, 0, 1, s, qa, qb, qs[1], 1, gka, gko, gks[1], later, 1);
                }
            }
        });
    }

    /** sc[rows, s] = (Q[rows, d] · Kᵀ) * scale + mask[bi, 0, i0 + r, :]: the composite's two roundings. */
    private static void scores(int rows, int s, int d, float[] qa, int qo, int qRs, float[] ka, int ko, int kRs,
                               float scale, Tensor mask, int bi, int i0, float[] sc) {
        Gemm.gemm(rows, s, d, qa, qo, qRs, 1, ka, ko, 1, kRs, sc, 0, s, false, 1); // K read transposed
        float[] ma = mask == null ? null : Rows.array(mask);
        int[] ms = mask == null ? null : mask.strides();
        for (int r = 0; r < rows; r++) {
            int o = r * s;
            if (scale != 1f) NNKernels.scale(sc, o, s, scale);
            if (ma != null) {
                int mo = mask.offset() + bi * ms[0] + (i0 + r) * ms[2];
                for (int j = 0; j < s; j++) sc[o + j] += ma[mo + j * ms[3]];
            }
        }
    }

    /** In place: p[o + j] = p[o + j] * (dp[o + j] - dRow) * scale, the softmax backward folded with the scale. */
    private static void softmaxGrad(float[] p, float[] dp, int o, int n, float dRow, float scale) {
        int j = 0;
        for (int end = F.loopBound(n); j < end; j += F.length()) {
            FloatVector pv = FloatVector.fromArray(F, p, o + j);
            FloatVector.fromArray(F, dp, o + j).sub(dRow).mul(pv).mul(scale).intoArray(p, o + j);
        }
        for (; j < n; j++) p[o + j] = (dp[o + j] - dRow) * p[o + j] * scale;
    }

    /**
     * Row blocks per (batch, head): one when the whole [p, s] tile fits the scratch, else as many as keep each block
     * within it, but never below {@link #MIN_BLOCK_ROWS} rows.
     */
    private static int blockCount(int p, int s) {
        long whole = (long) p * s;
        if (whole <= BLOCK_FLOATS) return 1;
        int rows = Math.max(MIN_BLOCK_ROWS, BLOCK_FLOATS / Math.max(1, s));
        return Math.max(1, Math.min(p / MIN_BLOCK_ROWS, (p + rows - 1) / rows));
    }

    /** Blocks split p as evenly as possible, so that no block is a short remainder. */
    private static int blockStart(int p, int blocks, int blk) {
        return (int) ((long) p * blk / blocks);
    }

    private static int rowsPerBlock(int p, int blocks) {
        return (p + blocks - 1) / blocks;
    }

    /** (batch, head) pairs per task: enough multiply-adds (about 2^18) to pay for a fork. */
    private static int grain(int p, int s, int d) {
        long flops = 2L * p * s * d;
        return (int) Math.max(1, (1 << 18) / Math.max(1, flops));
    }

    private static float[] scratch(int which, int size) {
        float[][] all = SCRATCH.get();
        if (all[which].length < size) all[which] = new float[size];
        return all[which];
    }
}
