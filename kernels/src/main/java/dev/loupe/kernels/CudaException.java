package dev.loupe.kernels;

import jcuda.driver.CUresult;

/**
 * A CUDA driver call failed. The message names the driver's error ({@code CUDA_ERROR_...}) and the Loupe operation
 * that made the call, e.g. {@code "CUDA_ERROR_ILLEGAL_ADDRESS (700) in matmul: cuLaunchKernel(loupe_gemm_f32)"}.
 */
public class CudaException extends RuntimeException {
    private final int result;

    /** A failure with driver result code {@code result} while doing {@code op}. */
    public CudaException(int result, String op) {
        this(name(result) + " (" + result + ") in " + op, result);
    }

    /** For subclasses that write their own message. */
    protected CudaException(String message, int result) {
        super(message);
        this.result = result;
    }

    /** The driver's result code ({@code CUresult}). */
    public int result() {
        return result;
    }

    /** The driver's name for {@code result}, e.g. {@code CUDA_ERROR_OUT_OF_MEMORY}. */
    static String name(int result) {
        try {
            return CUresult.stringFor(result);
        } catch (LinkageError e) { // CUresult is pure Java, but be safe if the JCuda jar is absent
            return "CUresult " + result;
        }
    }
}
