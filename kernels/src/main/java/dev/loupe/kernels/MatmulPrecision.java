package dev.loupe.kernels;

/**
 * How the CUDA backend multiplies matrices. Inputs and outputs are float32 in every mode; the modes differ in how
 * the products are formed, and so in their accuracy (relative to a float64 product, for well-scaled inputs of
 * transformer size):
 */
public enum MatmulPrecision {
    /** Exact FP32 multiply-adds on the CUDA cores (shared-memory tiles): about 1e-6 relative. */
    FP32,
    /** Tensor cores, inputs rounded to TF32 (10-bit mantissa), FP32 accumulation: about 1e-3 relative. */
    TF32,
    /** Tensor cores, inputs rounded to BF16 (7-bit mantissa), FP32 accumulation: about 1e-2 relative. */
    BF16
}
