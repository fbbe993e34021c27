package dev.loupe.tensor.cpu;

import static dev.loupe.tensor.cpu.GemmKernel.L;
import static dev.loupe.tensor.cpu.GemmKernel.MR;
import static dev.loupe.tensor.cpu.GemmKernel.NR;
import static dev.loupe.tensor.cpu.GemmKernel.S;

import dev.loupe.tensor.FloatStorage;
import dev.loupe.tensor.Parallel;
import dev.loupe.tensor.Tensor;
import dev.loupe.tensor.UnaryOp;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;

/**
 * Single-precision matrix multiply on the CPU: {@code C[m, n] (=|+=) A[m, k] @ B[k, n]} for row-major C and A, B
 * given by strides, so normal and transposed operands take the same path. Large products go through the packed,
 * register-blocked kernel of {@link GemmKernel} split over {@link Parallel#threads()} cores; tiny or vector-shaped
 * ones (m or n below a few) through a direct SIMD loop; batches of small matrices are split over the batch.
 *
 * <p>All methods are thread-safe as long as concurrent calls do not write overlapping parts of C (scratch buffers are
 * per thread). Results do not depend on the number of threads.
 */
public final class Gemm {
    /** Below this many multiply-adds a product is not worth packing. */
    private static final long SMALL_FLOPS = 8 * 1024;
    /** A part of C handed to one thread should carry at least this many multiply-adds (fork-join cost is ~10 us). */
    private static final long MIN_PART_FLOPS = 256 * 1024;

    private Gemm() {
    }

    /**
     * Batched product for tensors of this backend: {@code a} [batch..., m, k] @ {@code b} [batch..., k, n] into
     * {@code out} [batch..., m, n]. Batch dims must be equal (stride 0 allowed, for broadcasts); the matrix dims of
     * {@code a} and {@code b} may have any strides (transposed views included); {@code out} must have unit stride along
     * its last dim and must not overlap the inputs. Overwrites {@code out}, or adds to it when {@code accumulate}.
     * Thread-safe under the rule in the class comment.
     *
     * @throws IllegalArgumentException when ranks or shapes do not match, or out's last dim is strided
     */
    public static void batched(Tensor a, Tensor b, Tensor out, boolean accumulate) {
        batched(a, b, null, out, accumulate);
    }

    /**
     * As {@link #batched(Tensor, Tensor, Tensor, boolean)}, overwriting {@code out} with {@code a @ b + bias}: the
     * bias [n] (unit stride) is added to every row of every product as the products' accumulators start from it, so
     * the bias costs no pass of its own over {@code out}. A null {@code bias} is the plain product.
     *
     * @throws IllegalArgumentException as the plain product, or when the bias is not [n] with unit stride
     */
    public static void batched(Tensor a, Tensor b, Tensor bias, Tensor out, boolean accumulate) {
        batched(a, b, bias, null, out, accumulate);
    }

    /**
     * As {@link #batched(Tensor, Tensor, Tensor, Tensor, boolean)}, then {@code act} (a parameterless
     * {@link UnaryOp}, or null for none) applied to each block of {@code out} as soon as it is final, while it is
     * still in cache: {@code out = act(a @ b + bias)} without a pass of its own. Each element gets exactly the value
     * the separate op would give it.
     *
     * @throws IllegalArgumentException as the plain product, or when {@code act} is combined with accumulation
     */
    public static void batched(Tensor a, Tensor b, Tensor bias, UnaryOp act, Tensor out, boolean accumulate) {
        if (act != null && accumulate) {
            throw new IllegalArgumentException("gemm: activation " + act + " cannot be combined with accumulation");
        }
        int[] as = a.shape(), bs = b.shape(), os = out.shape();
        int r = os.length;
        if (as.length != r || bs.length != r || r < 2) {
            throw new IllegalArgumentException(describe(as, bs) + " into " + Arrays.toString(os)
                    + ": operands need equal ranks of at least 2");
        }
        int m = os[r - 2], n = os[r - 1], k = as[r - 1];
        if (bs[r - 2] != k) {
            throw new IllegalArgumentException(describe(as, bs) + ": inner dims " + k + " and " + bs[r - 2] + " differ");
        }
        if (as[r - 2] != m || bs[r - 1] != n || !Arrays.equals(as, 0, r - 2, os, 0, r - 2)
                || !Arrays.equals(bs, 0, r - 2, os, 0, r - 2)) {
            throw new IllegalArgumentException(describe(as, bs) + " into " + Arrays.toString(os)
                    + ": shapes do not agree");
        }
        int[] ast = a.strides(), bst = b.strides(), ost = out.strides();
        if (n > 1 && ost[r - 1] != 1) {
            throw new IllegalArgumentException(describe(as, bs) + ": out needs unit stride along its last dim but has "
                    + ost[r - 1]);
        }
        if (bias != null && (accumulate || bias.rank() != 1 || bias.size(0) != n || (n > 1 && bias.strides()[0] != 1))) {
            throw new IllegalArgumentException(describe(as, bs) + ": bias " + Arrays.toString(bias.shape())
                    + " with strides " + Arrays.toString(bias.strides()) + " must be [" + n + "] with unit stride"
                    + (accumulate ? ", and cannot be combined with accumulation" : ""));
        }
        float[] x = Rows.array(a), w = Rows.array(b), y = Rows.array(out);
        float[] bv = bias == null ? null : Rows.array(bias);
        int bvOff = bias == null ? 0 : bias.offset();
        int batch = 1;
        for (int d = 0; d < r - 2; d++) batch *= os[d];
        if (batch == 0) return;
        int aRs = ast[r - 2], aCs = ast[r - 1], bRs = bst[r - 2], bCs = bst[r - 1], ldc = ost[r - 2];
        long flops = (long) m * n * k;
        // Many small products: one per thread at a time beats splitting each tiny product.
        boolean overBatch = batch > 1 && flops < 4 * MIN_PART_FLOPS * Parallel.threads();
        int grain = (int) Math.max(1, MIN_PART_FLOPS / Math.max(1, flops));
        Parallel.forRange(batch, overBatch ? grain : batch, (from, to) -> {
            for (int bi = from; bi < to; bi++) {
                int ao = a.offset(), bo = b.offset(), oo = out.offset(), rem = bi;
                for (int d = r - 3; d >= 0; d--) {
                    int idx = rem % os[d];
                    rem /= os[d];
                    ao += idx * ast[d];
                    bo += idx * bst[d];
                    oo += idx * ost[d];
                }
                gemm(m, n, k, x, ao, aRs, aCs, w, bo, bRs, bCs, y, oo, ldc, accumulate, bv, bvOff, act,
                        overBatch ? 1 : Parallel.threads());
            }
        });
    }

    /** Floats of B widened per block by {@link #batchedWidening}: 4 MiB, a few L2s' worth, never the whole matrix. */
    private static final int WIDEN_BLOCK = 1 << 20;
    /** Per-thread widening scratch, grown once: a mapped model's every linear layer would otherwise allocate 4 MiB. */
    private static final ThreadLocal<float[]> WIDEN_SCRATCH = ThreadLocal.withInitial(() -> new float[0]);

    /**
     * As {@link #batched}, for {@code b} on a storage other than heap float32 (a memory-mapped weight file, bf16/f16):
     * B is widened a block of columns at a time into one heap scratch of at most {@link #WIDEN_BLOCK} floats, in its
     * own orientation (so a transposed B stays transposed and the same kernels run with the same arithmetic), and each
     * block's product is written to its columns of {@code out}. Batch dims are taken one entry at a time.
     */
    static void batchedWidening(Tensor a, Tensor b, Tensor bias, UnaryOp act, Tensor out, boolean accumulate) {
        // Views taken here must not record gradients: the caller records the product as one op.
        a = a.detach();
        b = b.detach();
        out = out.detach();
        int r = out.rank();
        if (r > 2) {
            for (int i = 0; i < out.size(0); i++) {
                batchedWidening(a.select(0, i), b.select(0, i), bias, act, out.select(0, i), accumulate);
            }
            return;
        }
        int k = b.size(0), n = b.size(1);
        if (n == 0) return;
        int width = Math.max(NR, WIDEN_BLOCK / Math.max(1, k) / NR * NR);
        width = Math.min(width, n);
        boolean transposed = b.strides()[0] == 1 && k > 1;
        float[] buffer = WIDEN_SCRATCH.get();
        if (buffer.length < Math.max(1, k * width)) {
            buffer = new float[Math.max(1, k * width)];
            WIDEN_SCRATCH.set(buffer);
        }
        FloatStorage scratch = new FloatStorage(buffer);
        for (int j0 = 0; j0 < n; j0 += width) {
            int w = Math.min(width, n - j0);
            Tensor block = b.narrow(1, j0, w), wide;
            if (transposed) {
                // Columns of B are rows of the stored matrix: copy them as rows, then view transposed again.
                Tensor rows = Tensor.fromStorage(scratch, new int[] {w, k}, new int[] {k, 1}, 0);
                ElementwiseKernels.copy(block.transpose(0, 1), rows);
                wide = rows.transpose(0, 1);
            } else {
                wide = Tensor.fromStorage(scratch, new int[] {k, w}, new int[] {w, 1}, 0);
                ElementwiseKernels.copy(block, wide);
            }
            batched(a, wide, bias == null ? null : bias.narrow(0, j0, w), act, out.narrow(1, j0, w), accumulate);
        }
    }

    /** The start of an error message; built only on failure, since small products are called often. */
    private static String describe(int[] as, int[] bs) {
        return "gemm: " + Arrays.toString(as) + " @ " + Arrays.toString(bs);
    }

    /**
     * {@code C[m, n] (=|+=) A[m, k] @ B[k, n]} on raw arrays. A element (i, p) is {@code a[aOff + i*aRs + p*aCs]},
     * B element (p, j) is {@code b[bOff + p*bRs + j*bCs]} (any non-negative strides, so transposes are free), C element
     * (i, j) is {@code c[cOff + i*ldc + j]}. C is overwritten when {@code accumulate} is false (also when k is 0) and
     * added to otherwise; C must not overlap A or B. Splits the work over {@link Parallel#threads()} cores.
     * Thread-safe under the rule in the class comment.
     *
     * @throws IllegalArgumentException on negative sizes or strides, overlapping C rows, or an operand reaching past
     *     its array
     */
    public static void gemm(int m, int n, int k, float[] a, int aOff, int aRs, int aCs,
                            float[] b, int bOff, int bRs, int bCs,
                            float[] c, int cOff, int ldc, boolean accumulate) {
        gemm(m, n, k, a, aOff, aRs, aCs, b, bOff, bRs, bCs, c, cOff, ldc, accumulate, null, 0, null,
                Parallel.threads());
    }

    /** As the public {@code gemm}, with C split into at most {@code parts} pieces (tests vary it). */
    static void gemm(int m, int n, int k, float[] a, int aOff, int aRs, int aCs,
                     float[] b, int bOff, int bRs, int bCs,
                     float[] c, int cOff, int ldc, boolean accumulate, int parts) {
        gemm(m, n, k, a, aOff, aRs, aCs, b, bOff, bRs, bCs, c, cOff, ldc, accumulate, null, 0, null, parts);
    }

    /**
     * As the public {@code gemm}, with an optional bias: when {@code bias} is not null (and {@code accumulate} is
     * false) C is overwritten with A @ B plus {@code bias[biasOff + j]} in every row; C is split into at most
     * {@code parts} pieces. A non-null {@code act} (only without {@code accumulate}) is then applied to every element
     * of C, block by block as each becomes final.
     */
    static void gemm(int m, int n, int k, float[] a, int aOff, int aRs, int aCs,
                     float[] b, int bOff, int bRs, int bCs,
                     float[] c, int cOff, int ldc, boolean accumulate, float[] bias, int biasOff, UnaryOp act,
                     int parts) {
        if (m < 0 || n < 0 || k < 0) {
            throw new IllegalArgumentException("gemm: negative size m=" + m + " n=" + n + " k=" + k);
        }
        if (m == 0 || n == 0) return;
        checkReach("A", a, aOff, m, aRs, k, aCs);
        checkReach("B", b, bOff, k, bRs, n, bCs);
        checkReach("C", c, cOff, m, ldc, n, 1);
        if (m > 1 && ldc < n) {
            throw new IllegalArgumentException("gemm: C row stride " + ldc + " is less than its " + n + " columns");
        }
        if (bias != null) checkReach("bias", bias, biasOff, 1, 0, n, 1);
        if (k == 0) {
            if (!accumulate) {
                for (int i = 0; i < m; i++) {
                    if (bias == null) {
                        Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + n, 0f);
                    } else {
                        System.arraycopy(bias, biasOff, c, cOff + i * ldc, n);
                    }
                    if (act != null) activate(act, c, cOff, ldc, i, i + 1, 0, n);
                }
            }
            return;
        }
        long flops = (long) m * n * k;
        parts = (int) Math.max(1, Math.min(parts, flops / MIN_PART_FLOPS));
        boolean direct = m < MR / 2 || n < L / 2 || flops < SMALL_FLOPS;
        // Split the dimension whose split duplicates less packing: splitting N makes every thread pack all of A.
        boolean splitN = direct ? m < parts : n >= m;
        int unit = direct ? (splitN ? L : 1) : (splitN ? NR : MR);
        int extent = splitN ? n : m, units = (extent + unit - 1) / unit;
        int p = Math.min(parts, units);
        // Decided on the whole product, not per part, so that a part's width never changes the arithmetic.
        boolean axpy = bCs == 1 && n >= L;
        Parallel.forRange(p, 1, (from, to) -> {
            for (int part = from; part < to; part++) {
                int lo = Math.min(extent, (int) ((long) units * part / p) * unit);
                int hi = Math.min(extent, (int) ((long) units * (part + 1) / p) * unit);
                int i0 = splitN ? 0 : lo, i1 = splitN ? m : hi, j0 = splitN ? lo : 0, j1 = splitN ? hi : n;
                if (direct) {
                    direct(i0, i1, j0, j1, k, a, aOff, aRs, aCs, b, bOff, bRs, bCs, c, cOff, ldc, accumulate, axpy,
                            bias, biasOff, act);
                } else if (act == null) {
                    GemmKernel.block(i0, i1, j0, j1, k, a, aOff, aRs, aCs, b, bOff, bRs, bCs, c, cOff, ldc,
                            accumulate, bias, biasOff);
                } else {
                    // A band of rows at a time, activated while it is still in L2. (Inside the kernel's own loops the
                    // activation's code would be compiled into them and slow the micro-kernel down.)
                    for (int r0 = i0; r0 < i1; r0 += GemmKernel.MC) {
                        int r1 = Math.min(i1, r0 + GemmKernel.MC);
                        GemmKernel.block(r0, r1, j0, j1, k, a, aOff, aRs, aCs, b, bOff, bRs, bCs, c, cOff, ldc,
                                false, bias, biasOff);
                        activate(act, c, cOff, ldc, r0, r1, j0, j1);
                    }
                }
            }
        });
    }

    /** {@code act} in place on C[i0:i1, j0:j1], row piece by row piece. */
    private static void activate(UnaryOp act, float[] c, int cOff, int ldc, int i0, int i1, int j0, int j1) {
        for (int i = i0; i < i1; i++) {
            int row = cOff + i * ldc + j0;
            UnaryKernels.row(act, c, row, c, row, j1 - j0, 0f, 0f);
        }
    }

    private static void checkReach(String name, float[] arr, int off, int rows, int rs, int cols, int cs) {
        if (off < 0 || rs < 0 || cs < 0) {
            throw new IllegalArgumentException("gemm: " + name + " has negative offset or stride (offset " + off
                    + ", strides " + rs + ", " + cs + ")");
        }
        long last = off + (long) (rows - 1) * rs + (long) (cols - 1) * cs;
        if (rows > 0 && cols > 0 && last >= arr.length) {
            throw new IllegalArgumentException("gemm: " + name + " [" + rows + ", " + cols + "] at offset " + off
                    + " with strides " + rs + ", " + cs + " reaches index " + last + " of an array of " + arr.length);
        }
    }

    /**
     * Unpacked path for products too small or too thin to amortize packing: row-major B ({@code axpy}) takes an
     * axpy per (i, p) vectorized along j; otherwise a dot product per (i, j), vectorized along p when A rows and B
     * columns are contiguous. A non-null {@code bias} (only without {@code accumulate}) starts each row of C; a
     * non-null {@code act} is applied to each finished row piece.
     */
    private static void direct(int i0, int i1, int j0, int j1, int k, float[] a, int aOff, int aRs, int aCs,
                               float[] b, int bOff, int bRs, int bCs,
                               float[] c, int cOff, int ldc, boolean accumulate, boolean axpy,
                               float[] bias, int biasOff, UnaryOp act) {
        for (int i = i0; i < i1; i++) {
            int crow = cOff + i * ldc, arow = aOff + i * aRs;
            if (axpy) {
                if (bias != null) {
                    System.arraycopy(bias, biasOff + j0, c, crow + j0, j1 - j0);
                } else if (!accumulate) {
                    Arrays.fill(c, crow + j0, crow + j1, 0f);
                }
                int vEnd = j0 + S.loopBound(j1 - j0);
                for (int p = 0; p < k; p++) {
                    float av = a[arow + p * aCs];
                    FloatVector x = FloatVector.broadcast(S, av);
                    int brow = bOff + p * bRs;
                    int j = j0;
                    for (; j < vEnd; j += L) {
                        x.fma(FloatVector.fromArray(S, b, brow + j), FloatVector.fromArray(S, c, crow + j))
                                .intoArray(c, crow + j);
                    }
                    for (; j < j1; j++) c[crow + j] = Math.fma(av, b[brow + j], c[crow + j]);
                }
            } else {
                float[] lanes = aCs == 1 && bRs == 1 ? LANES.get() : null;
                for (int j = j0; j < j1; j++) {
                    int bcol = bOff + j * bCs;
                    float sum = lanes != null ? dot(a, arow, b, bcol, k, lanes)
                            : dotStrided(a, arow, aCs, b, bcol, bRs, k);
                    c[crow + j] = accumulate ? c[crow + j] + sum : bias != null ? bias[biasOff + j] + sum : sum;
                }
            }
            if (act != null) activate(act, c, cOff, ldc, i, i + 1, j0, j1);
        }
    }

    /** Lane scratch for {@link #dot}, per thread. */
    private static final ThreadLocal<float[]> LANES = ThreadLocal.withInitial(() -> new float[L]);

    private static float dot(float[] a, int ao, float[] b, int bo, int k, float[] lanes) {
        FloatVector acc = FloatVector.zero(S);
        int p = 0;
        for (int end = S.loopBound(k); p < end; p += L) {
            acc = FloatVector.fromArray(S, a, ao + p).fma(FloatVector.fromArray(S, b, bo + p), acc);
        }
        // Lanes summed in a fixed order: reduceLanes(ADD) may reassociate differently once C2 compiles it, which would
        // make results depend on JIT timing.
        acc.intoArray(lanes, 0);
        float sum = 0f;
        for (int l = 0; l < L; l++) sum += lanes[l];
        for (; p < k; p++) sum = Math.fma(a[ao + p], b[bo + p], sum);
        return sum;
    }

    private static float dotStrided(float[] a, int ao, int aCs, float[] b, int bo, int bRs, int k) {
        float sum = 0f;
        for (int p = 0; p < k; p++) sum = Math.fma(a[ao + p * aCs], b[bo + p * bRs], sum);
        return sum;
    }
}
