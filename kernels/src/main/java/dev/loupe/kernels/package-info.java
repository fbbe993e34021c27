/**
 * CUDA kernel sources (under {@code kernels/src/main/cuda}), the PTX compiled from them, and the JCuda backend that
 * plugs a CUDA device into {@link dev.loupe.tensor.Backend}. Opt-in: nothing here is needed to build, test or run on CPU.
 */
package dev.loupe.kernels;
