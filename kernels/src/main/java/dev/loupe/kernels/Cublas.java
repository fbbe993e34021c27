package dev.loupe.kernels;

import jcuda.Pointer;
import jcuda.cudaDataType;
import jcuda.jcublas.JCublas2;
import jcuda.jcublas.cublasComputeType;
import jcuda.jcublas.cublasGemmAlgo;
import jcuda.jcublas.cublasHandle;
import jcuda.jcublas.cublasOperation;
import jcuda.jcublas.cublasStatus;
import jcuda.runtime.cudaStream_t;

/**
 * cuBLAS as an alternative GEMM (see {@link GemmEngine}): one handle on the backend's stream, and
 * {@link #gemm} for the products whose layout cuBLAS takes (each matrix with a unit stride in one dim, at most one
 * batch dim after merging, a row-major output); anything else stays with Loupe's kernels.
 *
 * <p>Row-major [m, n] = [m, k] · [k, n] is computed as cuBLAS's column-major Cᵀ = Bᵀ · Aᵀ, so no operand is copied.
 * Precisions map to compute types: FP32 → {@code CUBLAS_COMPUTE_32F}, TF32 → {@code _32F_FAST_TF32}, BF16 →
 * {@code _32F_FAST_16BF} (float32 in memory, rounded on the tensor cores, float32 accumulation: what Loupe's kernels
 * do).
 */
final class Cublas {
    private final CudaContext ctx;
    private final cublasHandle handle = new cublasHandle();

    private Cublas(CudaContext ctx) {
        this.ctx = ctx;
        ctx.enter();
        check(JCublas2.cublasCreate(handle), "cublasCreate");
        check(JCublas2.cublasSetStream(handle, new cudaStream_t(ctx.stream)), "cublasSetStream");
    }

    /**
     * Why cuBLAS's binding cannot be loaded (one line, e.g. "libcublas.so.12 not found"), or null when it can. Probed
     * once per process: a failed native load leaves JCublas's class unusable, so a second attempt would only report
     * that.
     */
    static String loadFailure() {
        return LoadProbe.FAILURE;
    }

    private static final class LoadProbe {
        static final String FAILURE = probe();

        private static String probe() {
            try {
                JCublas2.initialize();
                return null;
            } catch (LinkageError | RuntimeException e) {
                for (Throwable t = e; t != null; t = t.getCause()) { // the class initialiser wraps the link error
                    if (t instanceof UnsatisfiedLinkError u) {
                        return Cuda.missingLibrary(u, "libcublas.so.12", "JCublas 12.x needs CUDA 12's cuBLAS");
                    }
                }
                Throwable cause = e.getCause() == null ? e : e.getCause();
                return cause.getClass().getSimpleName() + " while loading JCublas (" + Cuda.firstLine(cause) + ")";
            }
        }
    }

    /** A handle on {@code ctx}'s stream; throws {@link CudaException} when cuBLAS cannot start. */
    static Cublas open(CudaContext ctx) {
        return new Cublas(ctx);
    }

    private static void check(int status, String op) {
        if (status != cublasStatus.CUBLAS_STATUS_SUCCESS) {
            // CudaException's code is a driver result; a cuBLAS status names itself in the message instead.
            throw new CudaException(cublasStatus.stringFor(status) + " (cuBLAS status " + status + ") in " + op, -1);
        }
    }

    /** A row-major [rows, cols] operand as cuBLAS's column-major transpose: its op and leading dimension. */
    private record Operand(int op, int ld) {
        /** Null when neither stride is 1 with the other a valid leading dimension. */
        static Operand of(int rows, int cols, int rowStride, int colStride) {
            // Size-1 dims may carry any stride: give them the one a dense layout would have.
            if (cols == 1) colStride = 1;
            if (rows == 1) rowStride = Math.max(cols, 1);
            if (colStride == 1 && rowStride >= Math.max(cols, 1)) return new Operand(cublasOperation.CUBLAS_OP_N, rowStride);
            if (rows == 1 || cols == 1) return null;
            if (rowStride == 1 && colStride >= Math.max(rows, 1)) return new Operand(cublasOperation.CUBLAS_OP_T, colStride);
            return null;
        }
    }

    /**
     * Runs {@code out (+)= a · b} described by {@code g} on cuBLAS when its layout allows; returns false (having done
     * nothing) otherwise. {@code a}, {@code b}, {@code out}: device pointers at the operands' offsets.
     */
    boolean gemm(GemmGeometry g, MatmulPrecision precision, Pointer a, Pointer b, Pointer out) {
        if (g.batch().length > 1) return false;
        int[] s = g.matrix(); // sam, sak, sbk, sbn, som, son
        int m = g.m(), n = g.n(), k = g.k();
        Operand opA = Operand.of(m, k, s[0], s[1]), opB = Operand.of(k, n, s[2], s[3]);
        Operand opC = Operand.of(m, n, s[4], s[5]);
        if (opA == null || opB == null || opC == null || opC.op() != cublasOperation.CUBLAS_OP_N) return false;
        int batch = g.batch().length == 0 ? 1 : g.batch()[0];
        long strideA = 0, strideB = 0, strideC = 0;
        if (g.batch().length == 1) {
            strideA = g.batchStride()[0][0];
            strideB = g.batchStride()[1][0];
            strideC = g.batchStride()[2][0];
            if (strideC == 0 && batch > 1) return false; // outputs must not alias
        }
        int compute = switch (precision) {
            case FP32 -> cublasComputeType.CUBLAS_COMPUTE_32F;
            case TF32 -> cublasComputeType.CUBLAS_COMPUTE_32F_FAST_TF32;
            case BF16 -> cublasComputeType.CUBLAS_COMPUTE_32F_FAST_16BF;
        };
        ctx.enter();
        Pointer alpha = Pointer.to(new float[] {1f}), beta = Pointer.to(new float[] {g.accumulate() ? 1f : 0f});
        // Column-major: Cᵀ [n, m] = Bᵀ [n, k] · Aᵀ [k, m].
        check(JCublas2.cublasGemmStridedBatchedEx_new(handle, opB.op(), opA.op(), n, m, k, alpha,
                b, cudaDataType.CUDA_R_32F, opB.ld(), strideB, a, cudaDataType.CUDA_R_32F, opA.ld(), strideA,
                beta, out, cudaDataType.CUDA_R_32F, opC.ld(), strideC, batch, compute,
                cublasGemmAlgo.CUBLAS_GEMM_DEFAULT), "cublasGemmStridedBatchedEx (" + precision + ", " + m + "x" + n
                + "x" + k + ", batch " + batch + ")");
        return true;
    }
}
