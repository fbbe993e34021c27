// Shared definitions of Loupe's CUDA kernels. Every kernel is extern "C" so its PTX name is the name the Java side
// (dev.loupe.kernels.CudaBackend) looks up; every operand is float32; indices are float32 holding whole numbers.
#pragma once
#include <stdint.h>

// Up to this many dims after the Java side merges dims that are contiguous in every operand.
#define LOUPE_MAX_DIMS 8
// Up to this many operands per strided launch (where: cond, a, b, out).
#define LOUPE_MAX_OPERANDS 4

// The geometry of one strided launch, passed by value: the iteration shape and each operand's strides (elements).
// Operand offsets are folded into the device pointers. The Java mirror is dev.loupe.kernels.Geometry, which packs
// exactly these ints in this order (rank, n, shape[8], strides[4][8]).
struct Geometry {
    int rank;
    int n;
    int shape[LOUPE_MAX_DIMS];
    int strides[LOUPE_MAX_OPERANDS][LOUPE_MAX_DIMS];
};

// Element offset of linear index i (row-major over g.shape) in operand op.
__device__ __forceinline__ long long offset_of(const Geometry& g, int op, long long i) {
    long long off = 0;
    for (int d = g.rank - 1; d >= 0; d--) {
        int s = g.shape[d];
        long long c = i % s;
        i /= s;
        off += c * g.strides[op][d];
    }
    return off;
}

// Coordinate of linear index i along dim d (row-major over g.shape).
__device__ __forceinline__ int coord_of(const Geometry& g, long long i, int d) {
    for (int k = g.rank - 1; k > d; k--) i /= g.shape[k];
    return (int) (i % g.shape[d]);
}

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum over the whole block (blockDim.x a multiple of 32, at most 1024); every thread gets the result.
__device__ __forceinline__ float block_sum(float v) {
    __shared__ float partial[32];
    __shared__ float total;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = warp_sum(v);
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    if (warp == 0) {
        float w = lane < (int) (blockDim.x >> 5) ? partial[lane] : 0.f;
        w = warp_sum(w);
        if (lane == 0) total = w;
    }
    __syncthreads();
    float r = total;
    __syncthreads(); // the shared slots may be reused by the caller's next block_sum
    return r;
}

// Max over the whole block, as block_sum.
__device__ __forceinline__ float block_max(float v) {
    __shared__ float partial[32];
    __shared__ float total;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = warp_max(v);
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    if (warp == 0) {
        float w = lane < (int) (blockDim.x >> 5) ? partial[lane] : -INFINITY;
        w = warp_max(w);
        if (lane == 0) total = w;
    }
    __syncthreads();
    float r = total;
    __syncthreads();
    return r;
}

// Grid-stride loop over [0, n).
#define LOUPE_FOR(i, n) for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
                             i += (long long) blockDim.x * gridDim.x)
