package dev.loupe.kernels;

import dev.loupe.tensor.AdamWUpdate;
import dev.loupe.tensor.Backend;
import dev.loupe.tensor.BinaryOp;
import dev.loupe.tensor.Device;
import dev.loupe.tensor.ReduceOp;
import dev.loupe.tensor.SgdUpdate;
import dev.loupe.tensor.Storage;
import dev.loupe.tensor.Tensor;
import dev.loupe.tensor.UnaryOp;
import java.util.Arrays;
import jcuda.Pointer;

/**
 * The {@link Backend} of one CUDA device: every primitive is one of our kernels (PTX from {@code src/main/cuda},
 * JIT-compiled by the driver), launched on one stream. Obtain it from {@link Cuda#backend()}, which registers it, so
 * ops on {@code cuda:0} tensors dispatch here; move tensors with {@link Tensor#to}.
 *
 * <p>Attention forward and backward are fused FlashAttention-2-style kernels ({@code attention.cu}, FP32, heads up
 * to 64 wide). Beyond the interface: {@link #softmaxCausal} (attention scores: scale, causal mask and softmax in one pass),
 * {@link #crossEntropy} / {@link #crossEntropyBackward}, and the GEMM precision switch
 * ({@link #matmulPrecision(MatmulPrecision)}; exact FP32 by default). Errors are {@link CudaException}s naming the
 * driver's error and the op. Meant to be driven from one thread at a time.
 */
public final class CudaBackend implements Backend {
    static final int THREADS = 256;
    private static final int MAX_GRID = 65535;
    /**
     * Tile edge of the cp.async tensor-core GEMM; products with m or n below it use the 64x64 kernels, which keep
     * more blocks busy on small outputs.
     */
    private static final int LARGE_TILE = 128;
    /** Largest d_head of the attention kernels (ATT_D in attention.cu); wider heads run the composite default. */
    static final int ATTENTION_MAX_D = 64;
    /** Queries (or keys, in the dK/dV kernel) per block of the attention kernels (ATT_BR in attention.cu). */
    static final int ATTENTION_ROWS = 32;
    /** The 128x128 kernels by precision and operand layouts (spelled out, so PtxManifestTest finds each). */
    private static final java.util.Map<String, String> LARGE_KERNELS = java.util.Map.of(
            "TF32_rr", "loupe_gemm128_tf32_rr", "TF32_rc", "loupe_gemm128_tf32_rc",
            "TF32_cr", "loupe_gemm128_tf32_cr", "TF32_cc", "loupe_gemm128_tf32_cc",
            "BF16_rr", "loupe_gemm128_bf16_rr", "BF16_rc", "loupe_gemm128_bf16_rc",
            "BF16_cr", "loupe_gemm128_bf16_cr", "BF16_cc", "loupe_gemm128_bf16_cc");

    private final CudaContext ctx;
    private volatile MatmulPrecision precision = MatmulPrecision.FP32;
    private volatile Cublas cublas; // null: Loupe's GEMM
    private volatile String gemmDescription = "Loupe's GEMM";

    CudaBackend(CudaContext ctx) {
        this.ctx = ctx;
    }

    /**
     * Chooses the GEMM engine for {@link #matmul} (see {@link GemmEngine}); {@link Cuda} applies the
     * {@code loupe.cuda.gemm} property this way when it opens the device.
     *
     * @throws IllegalStateException for {@link GemmEngine#CUBLAS} when cuBLAS cannot be loaded or started, with why
     */
    public synchronized void gemmEngine(GemmEngine engine) {
        GemmEngine.Choice choice = engine.resolve(() -> {
            if (cublas != null) return null;
            String failure = Cublas.loadFailure();
            if (failure != null) return failure;
            try {
                cublas = Cublas.open(ctx);
                return null;
            } catch (CudaException e) {
                return "cublasCreate failed: " + e.getMessage();
            }
        });
        gemmDescription = choice.description();
        if (!choice.cublas()) cublas = null;
    }

    /** Which GEMM {@link #matmul} runs and why, in one line (e.g. "cuBLAS unavailable: ...; using Loupe's GEMM"). */
    public String gemmDescription() {
        return gemmDescription;
    }

    /** Whether {@link #matmul} hands products to cuBLAS (those whose layout it takes). */
    public boolean usesCublas() {
        return cublas != null;
    }

    /** Device name, compute capability, driver version and memory, in one line. */
    public String describe() {
        long[] mem = ctx.memoryInfo();
        return String.format(java.util.Locale.ROOT, "cuda:%d %s (sm_%d), driver %d.%d, %.1f of %.1f GiB free",
                ctx.ordinal, ctx.name, ctx.computeCapability, ctx.driverVersion / 1000, ctx.driverVersion % 1000 / 10,
                mem[0] / 1073741824.0, mem[1] / 1073741824.0);
    }

    /** The GEMM used by {@link #matmul} from now on. */
    public void matmulPrecision(MatmulPrecision p) {
        this.precision = java.util.Objects.requireNonNull(p, "precision");
    }

    /** The GEMM {@link #matmul} uses. */
    public MatmulPrecision matmulPrecision() {
        return precision;
    }

    /** Waits until every queued kernel and copy has finished (for timing); errors of queued work surface here. */
    public void synchronize() {
        ctx.synchronize("synchronize");
    }

    /**
     * The most device memory this backend has held from the driver (blocks in use plus those its caching allocator
     * keeps for reuse, like PyTorch's {@code max_memory_reserved}) since the last {@link #resetPeakMemory()}, in
     * bytes. Blocks of unreachable tensors count until the garbage collector finds them.
     */
    public long peakMemoryBytes() {
        return ctx.allocator.peakReservedBytes();
    }

    /** Starts a new {@link #peakMemoryBytes()} peak at what is held now. */
    public void resetPeakMemory() {
        ctx.allocator.resetPeak();
    }

    @Override
    public Device device() {
        return Device.cuda(ctx.ordinal);
    }

    @Override
    public Storage allocate(int numel) {
        CudaStorage s = new CudaStorage(ctx, numel, "allocate");
        ctx.zero(s.pointer(0), numel, "allocate");
        return s;
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        if (!(src.storage() instanceof CudaStorage)) src = src.detach().to(device()); // a host source: stage it
        Geometry g = Geometry.merged(dst.shape(), src.strides(), dst.strides());
        elementwise("copy", "loupe_copy", g, ptr(src), ptr(dst));
    }

    @Override
    public void fill(Tensor dst, float value) {
        Geometry g = Geometry.merged(dst.shape(), dst.strides());
        elementwise("fill", "loupe_fill", g, ptr(dst), Pointer.to(new float[] {value}));
    }

    @Override
    public void unary(UnaryOp op, Tensor a, float p0, float p1, Tensor out) {
        Geometry g = Geometry.merged(out.shape(), a.strides(), out.strides());
        elementwise(op.label(), "loupe_unary", g, ptr(a), ptr(out), ints(op.ordinal()),
                Pointer.to(new float[] {p0}), Pointer.to(new float[] {p1}));
    }

    @Override
    public void binary(BinaryOp op, Tensor a, Tensor b, Tensor out) {
        Geometry g = Geometry.merged(out.shape(), a.strides(), b.strides(), out.strides());
        elementwise(op.label(), "loupe_binary", g, ptr(a), ptr(b), ptr(out), ints(op.ordinal()));
    }

    @Override
    public void where(Tensor cond, Tensor a, Tensor b, Tensor out) {
        Geometry g = Geometry.merged(out.shape(), cond.strides(), a.strides(), b.strides(), out.strides());
        elementwise("where", "loupe_where", g, ptr(cond), ptr(a), ptr(b), ptr(out));
    }

    @Override
    public void reduce(ReduceOp op, Tensor a, int dim, Tensor out) {
        String name = op.name().toLowerCase(java.util.Locale.ROOT);
        int len = a.shape()[dim];
        if (len == 0) {
            if (op != ReduceOp.SUM) throw new IllegalArgumentException(name + ": dim " + dim + " of shape "
                    + Arrays.toString(a.shape()) + " is empty");
            fill(out, 0f);
            return;
        }
        Geometry g = Geometry.merged(drop(a.shape(), dim), drop(a.strides(), dim), drop(out.strides(), dim));
        if (g.numel() == 0) return;
        ctx.launch(name, "reduce", "loupe_reduce", warpGrid(g.numel()), 1, 1, THREADS, Pointer.to(g.pack()),
                ptr(a), ptr(out), ints(len), ints(a.strides()[dim]), ints(op.ordinal()));
    }

    @Override
    public void argReduce(boolean max, Tensor a, int dim, Tensor values, Tensor indices) {
        String name = max ? "argmax" : "argmin";
        int len = a.shape()[dim];
        if (len == 0) throw new IllegalArgumentException(name + ": dim " + dim + " of shape "
                + Arrays.toString(a.shape()) + " is empty");
        Geometry g = Geometry.merged(drop(a.shape(), dim), drop(a.strides(), dim), drop(values.strides(), dim),
                drop(indices.strides(), dim));
        if (g.numel() == 0) return;
        ctx.launch(name, "reduce", "loupe_arg_reduce", warpGrid(g.numel()), 1, 1, THREADS, Pointer.to(g.pack()),
                ptr(a), ptr(values), ptr(indices), ints(len), ints(a.strides()[dim]), ints(max ? 1 : 0));
    }

    @Override
    public void matmul(Tensor a, Tensor b, Tensor out, boolean accumulate) {
        GemmGeometry g = GemmGeometry.of(a.shape(), a.strides(), b.shape(), b.strides(), out.strides(), accumulate);
        if (g.m() == 0 || g.n() == 0 || g.batchCount() == 0) return;
        if (g.k() == 0) {
            if (!accumulate) fill(out, 0f);
            return;
        }
        MatmulPrecision p = precision;
        Cublas blas = cublas;
        if (blas != null && blas.gemm(g, p, devicePointer(a), devicePointer(b), devicePointer(out))) return;
        String large = p == MatmulPrecision.FP32 || g.m() < LARGE_TILE || g.n() < LARGE_TILE ? null
                : g.largeTileLayout(a.offset(), b.offset());
        if (large != null) {
            String kernel = LARGE_KERNELS.get(p + "_" + large);
            ctx.launch("matmul (" + p + ")", "gemm", kernel, ceilDiv(g.n(), LARGE_TILE), ceilDiv(g.m(), LARGE_TILE),
                    Math.min(g.batchCount(), MAX_GRID), 256, Pointer.to(g.pack()), ptr(a), ptr(b), ptr(out));
            return;
        }
        String kernel = switch (p) {
            case FP32 -> "loupe_gemm_f32";
            case TF32 -> "loupe_gemm_tf32";
            case BF16 -> "loupe_gemm_bf16";
        };
        int threads = p == MatmulPrecision.FP32 ? 256 : 128; // the kernels' __launch_bounds__
        ctx.launch("matmul (" + p + ")", "gemm", kernel, ceilDiv(g.n(), 64), ceilDiv(g.m(), 64),
                Math.min(g.batchCount(), MAX_GRID), threads, Pointer.to(g.pack()), ptr(a), ptr(b), ptr(out));
    }

    /**
     * FlashAttention-2-style forward (attention.cu): one block per (batch·head, 32 queries), key/value tiles through
     * shared memory, online softmax; writes {@code out} and {@code lse}. Heads wider than {@link #ATTENTION_MAX_D}
     * run the interface's composite default.
     */
    @Override
    public void attention(Tensor q, Tensor k, Tensor v, float scale, Tensor mask, Tensor out, Tensor lse) {
        int b = q.size(0), p = q.size(1), h = q.size(2), d = q.size(3), s = k.size(1);
        if (d > ATTENTION_MAX_D) {
            Backend.super.attention(q, k, v, scale, mask, out, lse);
            return;
        }
        if (b * h * p == 0) return;
        if (s == 0) { // no key: an empty sum, as the composite product gives
            fill(out, 0f);
            if (lse != null) fill(lse, Float.NEGATIVE_INFINITY);
            return;
        }
        ctx.launch("attention", "attention", "loupe_attention_forward", b * h, ceilDiv(p, ATTENTION_ROWS), 1, THREADS,
                attentionParams(q, k, v, mask, new Pointer[] {ptr(q), ptr(k), ptr(v), ptrOrNull(mask), ptr(out),
                        ptrOrNull(lse), ints(h), ints(p), ints(s), ints(d), floats(scale)}));
    }

    /**
     * The matching backward: D = rowsum(gOut ∘ out) first, then dQ per query tile and dK/dV per key tile (each
     * recomputing the pattern from {@code lse}; no atomics).
     */
    @Override
    public void attentionBackward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor gOut, float scale,
                                  Tensor mask, Tensor gq, Tensor gk, Tensor gv) {
        int b = q.size(0), p = q.size(1), h = q.size(2), d = q.size(3), s = k.size(1);
        if (d > ATTENTION_MAX_D) {
            Backend.super.attentionBackward(q, k, v, out, lse, gOut, scale, mask, gq, gk, gv);
            return;
        }
        int rows = b * p * h;
        if (b * h == 0) return;
        Tensor dvec = Tensor.fromStorage(allocate(Math.max(1, rows)), new int[] {rows}, new int[] {1}, 0);
        if (rows > 0) {
            ctx.launch("attention backward (D)", "attention", "loupe_attention_rowdot", warpGrid(rows), 1, 1, THREADS,
                    ptr(out), ptr(gOut), ptr(dvec), Pointer.to(new long[] {rows}), ints(d));
            ctx.launch("attention backward (dQ)", "attention", "loupe_attention_backward_dq", b * h,
                    ceilDiv(p, ATTENTION_ROWS), 1, THREADS, attentionParams(q, k, v, mask, new Pointer[] {ptr(q),
                            ptr(k), ptr(v), ptrOrNull(mask), ptr(lse), ptr(dvec), ptr(gOut), ptr(gq), ints(h), ints(p),
                            ints(s), ints(d), floats(scale)}));
        }
        if (s > 0) {
            ctx.launch("attention backward (dK, dV)", "attention", "loupe_attention_backward_dkdv", b * h,
                    ceilDiv(s, ATTENTION_ROWS), 1, THREADS, attentionParams(q, k, v, mask, new Pointer[] {ptr(q),
                            ptr(k), ptr(v), ptrOrNull(mask), p > 0 ? ptr(lse) : ptrOrNull(null),
                            p > 0 ? ptr(dvec) : ptrOrNull(null), p > 0 ? ptr(gOut) : ptrOrNull(null), ptr(gk), ptr(gv),
                            ints(h), ints(p), ints(s), ints(d), floats(scale)}));
        }
    }

    /** {@code head}, then the batch/position/head strides of q, k, v and the mask's batch/query/key strides. */
    private static Pointer[] attentionParams(Tensor q, Tensor k, Tensor v, Tensor mask, Pointer[] head) {
        int[] qs = q.strides(), ks = k.strides(), vs = v.strides();
        int[] ms = mask == null ? new int[4] : mask.strides();
        int[] strides = {qs[0], qs[1], qs[2], ks[0], ks[1], ks[2], vs[0], vs[1], vs[2], ms[0], ms[2], ms[3]};
        Pointer[] all = Arrays.copyOf(head, head.length + strides.length);
        for (int i = 0; i < strides.length; i++) all[head.length + i] = ints(strides[i]);
        return all;
    }

    @Override
    public void softmax(Tensor a, boolean log, Tensor out) {
        int d = lastDim(a), rows = rows(a, d);
        if (rows == 0 || d == 0) return;
        ctx.launch(log ? "logSoftmax" : "softmax", "nn", "loupe_softmax", Math.min(rows, MAX_GRID), 1, 1,
                rowThreads(d), ptr(a), ptr(out), ints(rows), ints(d), ints(log ? 1 : 0));
    }

    @Override
    public void softmaxBackward(Tensor y, Tensor gy, boolean log, Tensor gx) {
        int d = lastDim(y), rows = rows(y, d);
        if (rows == 0 || d == 0) return;
        ctx.launch(log ? "logSoftmax backward" : "softmax backward", "nn", "loupe_softmax_backward",
                Math.min(rows, MAX_GRID), 1, 1, rowThreads(d), ptr(y), ptr(gy), ptr(gx), ints(rows), ints(d),
                ints(log ? 1 : 0));
    }

    /**
     * Attention patterns in one pass: {@code out = softmax(scale · x)} over the keys each query may see. x, out:
     * contiguous [..., qLen, kLen] with kLen ≥ qLen (the first kLen − qLen keys are earlier positions, as with a KV
     * cache); query q sees keys 0 .. q + kLen − qLen; masked entries are 0 in {@code out}. Its gradient is
     * {@link #softmaxBackward} of the output (masked entries have y = 0, so they get no gradient).
     */
    public void softmaxCausal(Tensor x, float scale, Tensor out) {
        int[] s = x.shape();
        if (s.length < 2) throw new IllegalArgumentException("softmaxCausal: expected [..., q, k] but got "
                + Arrays.toString(s));
        int qLen = s[s.length - 2], kLen = s[s.length - 1];
        if (kLen < qLen) throw new IllegalArgumentException("softmaxCausal: " + kLen + " keys < " + qLen
                + " queries in shape " + Arrays.toString(s));
        int rows = rows(x, kLen);
        if (rows == 0 || kLen == 0) return;
        ctx.launch("softmaxCausal", "nn", "loupe_softmax_causal", Math.min(rows, MAX_GRID), 1, 1, rowThreads(kLen),
                ptr(x), ptr(out), ints(rows), ints(qLen), ints(kLen), Pointer.to(new float[] {scale}));
    }

    @Override
    public void layerNorm(Tensor x, Tensor weight, Tensor bias, float eps, Tensor out, Tensor mean, Tensor rstd) {
        int d = lastDim(x), rows = rows(x, d);
        if (rows == 0) return;
        ctx.launch("layerNorm", "nn", "loupe_layer_norm", Math.min(rows, MAX_GRID), 1, 1, rowThreads(d), ptr(x),
                ptrOrNull(weight), ptrOrNull(bias), ptr(out), ptr(mean), ptr(rstd), ints(rows), ints(d),
                Pointer.to(new float[] {eps}));
    }

    @Override
    public void layerNormBackward(Tensor x, Tensor weight, Tensor mean, Tensor rstd, Tensor gy,
                                  Tensor gx, Tensor gWeight, Tensor gBias) {
        int d = lastDim(x), rows = rows(x, d);
        if (rows == 0 || d == 0) return;
        if (gx != null) {
            ctx.launch("layerNorm backward", "nn", "loupe_layer_norm_backward", Math.min(rows, MAX_GRID), 1, 1,
                    rowThreads(d), ptr(x), ptrOrNull(weight), ptr(mean), ptr(rstd), ptr(gy), ptr(gx), ints(rows),
                    ints(d));
        }
        if (gWeight != null || gBias != null) {
            int chunks = Math.min(rows, 128), rowsPerChunk = ceilDiv(rows, chunks);
            ctx.launch("layerNorm backward (weight, bias)", "nn", "loupe_layer_norm_param_grads", ceilDiv(d, THREADS),
                    ceilDiv(rows, rowsPerChunk), 1, THREADS, ptr(x), ptr(mean), ptr(rstd), ptr(gy), ptrOrNull(gWeight),
                    ptrOrNull(gBias), ints(rows), ints(d), ints(rowsPerChunk));
        }
    }

    /**
     * Per-row cross-entropy: {@code loss[r] = logsumexp(logits[r]) − logits[r, targets[r]]}, 0 where the target is
     * negative (ignored). logits: contiguous [rows, classes]; targets (class ids as floats), loss: contiguous [rows].
     */
    public void crossEntropy(Tensor logits, Tensor targets, Tensor loss) {
        int c = lastDim(logits), rows = rows(logits, c);
        if (rows == 0) return;
        ctx.launch("crossEntropy", "nn", "loupe_cross_entropy", Math.min(rows, MAX_GRID), 1, 1, rowThreads(c),
                ptr(logits), ptr(targets), ptr(loss), ints(rows), ints(c));
    }

    /**
     * Gradient of {@link #crossEntropy}: {@code glogits[r] = (softmax(logits[r]) − onehot(targets[r])) · gloss[r]},
     * 0 for ignored rows. Shapes as in {@link #crossEntropy}; glogits [rows, classes].
     */
    public void crossEntropyBackward(Tensor logits, Tensor targets, Tensor gloss, Tensor glogits) {
        int c = lastDim(logits), rows = rows(logits, c);
        if (rows == 0) return;
        ctx.launch("crossEntropy backward", "nn", "loupe_cross_entropy_backward", Math.min(rows, MAX_GRID), 1, 1,
                rowThreads(c), ptr(logits), ptr(targets), ptr(gloss), ptr(glogits), ints(rows), ints(c));
    }

    @Override
    public void adamW(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWUpdate u) {
        long n = param.numel();
        if (n == 0) return;
        ctx.launch("adamW", "nn", "loupe_adamw", (int) Math.min(ceilDiv(n, THREADS), 4096), 1, 1, THREADS, ptr(param),
                ptr(grad), ptr(m), ptr(v), Pointer.to(new long[] {n}), floats(u.decay()), floats(u.beta1()),
                floats(u.beta2()), floats(u.oneMinusBeta1()), floats(u.oneMinusBeta2()), floats(u.stepSize()),
                floats(u.bc2Sqrt()), floats(u.eps()));
    }

    @Override
    public void sgd(Tensor param, Tensor grad, Tensor buffer, SgdUpdate u) {
        long n = param.numel();
        if (n == 0) return;
        ctx.launch("sgd", "nn", "loupe_sgd", (int) Math.min(ceilDiv(n, THREADS), 4096), 1, 1, THREADS, ptr(param),
                ptr(grad), ptrOrNull(buffer), Pointer.to(new long[] {n}), floats(u.lr()), floats(u.weightDecay()),
                floats(u.momentum()), ints(u.nesterov() ? 1 : 0), ints(u.firstStep() ? 1 : 0));
    }

    @Override
    public void indexSelect(Tensor a, int dim, Tensor index, Tensor out) {
        Geometry g = Geometry.exact(out.shape(), zeroAt(a.strides(), dim), out.strides());
        if (g.numel() == 0) return;
        elementwise("indexSelect", "index", "loupe_index_select", g, ptr(a), ptr(index), ptr(out), ints(dim),
                ints(index.strides()[0]), ints(a.strides()[dim]));
    }

    @Override
    public void indexAdd(Tensor dst, int dim, Tensor index, Tensor src) {
        Geometry g = Geometry.exact(src.shape(), zeroAt(dst.strides(), dim), src.strides());
        if (g.numel() == 0) return;
        elementwise("indexAdd", "index", "loupe_index_add", g, ptr(dst), ptr(index), ptr(src), ints(dim),
                ints(index.strides()[0]), ints(dst.strides()[dim]));
    }

    @Override
    public void gather(Tensor a, int dim, Tensor index, Tensor out) {
        Geometry g = Geometry.exact(out.shape(), zeroAt(a.strides(), dim), index.strides(), out.strides());
        if (g.numel() == 0) return;
        elementwise("gather", "index", "loupe_gather", g, ptr(a), ptr(index), ptr(out), ints(a.strides()[dim]));
    }

    @Override
    public void scatterAdd(Tensor dst, int dim, Tensor index, Tensor src) {
        Geometry g = Geometry.exact(src.shape(), zeroAt(dst.strides(), dim), index.strides(), src.strides());
        if (g.numel() == 0) return;
        elementwise("scatterAdd", "index", "loupe_scatter_add", g, ptr(dst), ptr(index), ptr(src),
                ints(dst.strides()[dim]));
    }

    @Override
    public void topK(Tensor a, int k, boolean largest, Tensor values, Tensor indices) {
        int last = a.rank() - 1;
        if (k == 0) return;
        Geometry g = Geometry.merged(drop(a.shape(), last), drop(a.strides(), last), drop(values.strides(), last),
                drop(indices.strides(), last));
        if (g.numel() == 0) return;
        ctx.launch("topK", "index", "loupe_top_k", warpGrid(g.numel()), 1, 1, THREADS, Pointer.to(g.pack()), ptr(a),
                ptr(values), ptr(indices), ints(a.shape()[last]), ints(a.strides()[last]),
                ints(values.strides()[last]), ints(indices.strides()[last]), ints(k), ints(largest ? 1 : 0));
    }

    // ---------------------------------------------------------------- launch helpers

    /** A grid-stride launch of an elementwise kernel of module "elementwise" over {@code g}; params after g. */
    private void elementwise(String op, String kernel, Geometry g, Pointer... params) {
        elementwise(op, "elementwise", kernel, g, params);
    }

    private void elementwise(String op, String module, String kernel, Geometry g, Pointer... params) {
        int n = g.numel();
        if (n == 0) return;
        Pointer[] all = new Pointer[params.length + 1];
        all[0] = Pointer.to(g.pack());
        System.arraycopy(params, 0, all, 1, params.length);
        ctx.launch(op, module, kernel, Math.min(ceilDiv(n, THREADS), MAX_GRID), 1, 1, THREADS, all);
    }

    /** Blocks of {@link #THREADS} threads for one warp per output, capped (the kernels loop). */
    private static int warpGrid(int outputs) {
        return Math.min(ceilDiv(outputs, THREADS / 32), MAX_GRID);
    }

    /** Threads per row for row kernels: enough warps for the row, 32 to 256. */
    private static int rowThreads(int d) {
        return Math.max(32, Math.min(THREADS, ceilDiv(d, 32) * 32));
    }

    /** The device pointer of {@code t}'s first element (for library calls that take pointers, not parameters). */
    private static Pointer devicePointer(Tensor t) {
        return ((CudaStorage) t.storage()).pointer(t.offset());
    }

    private Pointer ptr(Tensor t) {
        if (!(t.storage() instanceof CudaStorage s)) {
            throw new IllegalArgumentException("operand on " + t.device() + ", expected " + device()
                    + " (move it with Tensor.to(device))");
        }
        return Pointer.to(s.pointer(t.offset()));
    }

    private Pointer ptrOrNull(Tensor t) {
        return t == null ? Pointer.to(new long[] {0L}) : ptr(t);
    }

    private static Pointer ints(int v) {
        return Pointer.to(new int[] {v});
    }

    private static Pointer floats(float v) {
        return Pointer.to(new float[] {v});
    }

    private static int lastDim(Tensor t) {
        return t.rank() == 0 ? 1 : t.shape()[t.rank() - 1];
    }

    private static int rows(Tensor t, int d) {
        return d == 0 ? 0 : t.numel() / d;
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    private static int[] drop(int[] a, int dim) {
        int[] r = new int[a.length - 1];
        System.arraycopy(a, 0, r, 0, dim);
        System.arraycopy(a, dim + 1, r, dim, a.length - dim - 1);
        return r;
    }

    private static int[] zeroAt(int[] strides, int dim) {
        int[] r = strides.clone();
        r[dim] = 0;
        return r;
    }
}
