// Batched, strided GEMM: out[z] (+)= a[z] @ b[z] with a [m, k], b [k, n], every operand addressed through its own
// row/column strides (so transposes are free) and per-batch strides over up to 4 batch dims (0 for broadcast).
// Two kernels: an exact FP32 one (shared-memory tiles, 4x4 register tiles per thread) and a tensor-core one
// (mma.sync with TF32 or BF16 inputs, FP32 accumulation; sm_80 and later).
#include "common.cuh"
#include <cuda_bf16.h>

#define LOUPE_MAX_BATCH_DIMS 4

// Mirror of dev.loupe.kernels.GemmGeometry (same ints, same order).
struct GemmGeometry {
    int m, n, k;
    int batch;                                  // product of batchShape
    int batchRank;
    int batchShape[LOUPE_MAX_BATCH_DIMS];
    int batchStride[3][LOUPE_MAX_BATCH_DIMS];   // a, b, out
    int sam, sak, sbk, sbn, som, son;
    int accumulate;
};

// Element offsets of batch z in a, b and out.
__device__ __forceinline__ void batch_offsets(const GemmGeometry& g, int z, long long* oa, long long* ob, long long* oo) {
    long long a = 0, b = 0, o = 0;
    for (int d = g.batchRank - 1; d >= 0; d--) {
        int c = z % g.batchShape[d];
        z /= g.batchShape[d];
        a += (long long) c * g.batchStride[0][d];
        b += (long long) c * g.batchStride[1][d];
        o += (long long) c * g.batchStride[2][d];
    }
    *oa = a; *ob = b; *oo = o;
}

// ---------------------------------------------------------------- exact FP32: 64x64 tile, 256 threads, 4x4 each

#define F_BM 64
#define F_BN 64
#define F_BK 16

extern "C" __global__ void __launch_bounds__(256) loupe_gemm_f32(GemmGeometry g, const float* A, const float* B,
                                                                 float* C) {
    __shared__ float As[F_BK][F_BM + 4]; // k-major, so the inner loop reads a row of m
    __shared__ float Bs[F_BK][F_BN + 4];
    int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
    int m0 = blockIdx.y * F_BM, n0 = blockIdx.x * F_BN;
    for (int z = blockIdx.z; z < g.batch; z += gridDim.z) {
        long long oa, ob, oo;
        batch_offsets(g, z, &oa, &ob, &oo);
        const float* a = A + oa;
        const float* b = B + ob;
        float acc[4][4] = {};
        for (int k0 = 0; k0 < g.k; k0 += F_BK) {
            for (int e = tid; e < F_BM * F_BK; e += 256) {
                int r = e / F_BK, c = e % F_BK, gm = m0 + r, gk = k0 + c;
                As[c][r] = gm < g.m && gk < g.k ? a[(long long) gm * g.sam + (long long) gk * g.sak] : 0.f;
            }
            for (int e = tid; e < F_BK * F_BN; e += 256) {
                int r = e / F_BN, c = e % F_BN, gk = k0 + r, gn = n0 + c;
                Bs[r][c] = gk < g.k && gn < g.n ? b[(long long) gk * g.sbk + (long long) gn * g.sbn] : 0.f;
            }
            __syncthreads();
#pragma unroll
            for (int kk = 0; kk < F_BK; kk++) {
                float av[4], bv[4];
#pragma unroll
                for (int i = 0; i < 4; i++) av[i] = As[kk][ty + 16 * i];
#pragma unroll
                for (int j = 0; j < 4; j++) bv[j] = Bs[kk][tx + 16 * j];
#pragma unroll
                for (int i = 0; i < 4; i++)
#pragma unroll
                    for (int j = 0; j < 4; j++) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
            }
            __syncthreads();
        }
        float* c = C + oo;
#pragma unroll
        for (int i = 0; i < 4; i++) {
            int gm = m0 + ty + 16 * i;
#pragma unroll
            for (int j = 0; j < 4; j++) {
                int gn = n0 + tx + 16 * j;
                if (gm < g.m && gn < g.n) {
                    float* p = c + (long long) gm * g.som + (long long) gn * g.son;
                    *p = g.accumulate ? *p + acc[i][j] : acc[i][j];
                }
            }
        }
    }
}

// ---------------------------------------------------------------- tensor cores: 64x64 tile, 4 warps of 32x32

#define T_BM 64
#define T_BN 64
#define T_BK 16

__device__ __forceinline__ uint32_t to_tf32(float x) {
    uint32_t r;
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
    return r;
}

// Two floats as a bf16 pair: lo in the low half (the lower k index), hi in the high half.
__device__ __forceinline__ uint32_t to_bf16x2(float lo, float hi) {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<uint32_t*>(&v);
}

__device__ __forceinline__ void mma_tf32(float* c, uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3,
                                         uint32_t b0, uint32_t b1) {
    asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 "
                 "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

__device__ __forceinline__ void mma_bf16(float* c, uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3,
                                         uint32_t b0, uint32_t b1) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
                 "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

// Fragment layouts (PTX ISA, "Matrix Fragments for mma.m16n8k8 / m16n8k16"), with lane = 4·group + t:
//   tf32 m16n8k8:  A a0 (group, t) a1 (group+8, t) a2 (group, t+4) a3 (group+8, t+4); B b0 (k=t, n=group)
//                  b1 (k=t+4, n=group)
//   bf16 m16n8k16: A a0 (group, 2t..2t+1) a1 (group+8, 2t..) a2 (group, 2t+8..) a3 (group+8, 2t+8..);
//                  B b0 (k=2t..2t+1, n=group) b1 (k=2t+8.., n=group)
//   C (both): c0 (group, 2t) c1 (group, 2t+1) c2 (group+8, 2t) c3 (group+8, 2t+1)
template <bool BF16>
__device__ __forceinline__ void gemm_tensor_core(const GemmGeometry& g, const float* A, const float* B, float* C) {
    __shared__ float As[T_BM][T_BK + 4]; // [m][k]
    __shared__ float Bs[T_BK][T_BN + 4]; // [k][n]
    int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    int group = lane >> 2, t = lane & 3;
    int wm = (warp >> 1) * 32, wn = (warp & 1) * 32;
    int m0 = blockIdx.y * T_BM, n0 = blockIdx.x * T_BN;
    for (int z = blockIdx.z; z < g.batch; z += gridDim.z) {
        long long oa, ob, oo;
        batch_offsets(g, z, &oa, &ob, &oo);
        const float* a = A + oa;
        const float* b = B + ob;
        float acc[2][4][4] = {};
        for (int k0 = 0; k0 < g.k; k0 += T_BK) {
            for (int e = tid; e < T_BM * T_BK; e += 128) {
                int r = e / T_BK, c = e % T_BK, gm = m0 + r, gk = k0 + c;
                As[r][c] = gm < g.m && gk < g.k ? a[(long long) gm * g.sam + (long long) gk * g.sak] : 0.f;
            }
            for (int e = tid; e < T_BK * T_BN; e += 128) {
                int r = e / T_BN, c = e % T_BN, gk = k0 + r, gn = n0 + c;
                Bs[r][c] = gk < g.k && gn < g.n ? b[(long long) gk * g.sbk + (long long) gn * g.sbn] : 0.f;
            }
            __syncthreads();
            if (BF16) {
                uint32_t af[2][4], bf[4][2];
#pragma unroll
                for (int i = 0; i < 2; i++) {
                    int r = wm + i * 16 + group;
                    af[i][0] = to_bf16x2(As[r][2 * t], As[r][2 * t + 1]);
                    af[i][1] = to_bf16x2(As[r + 8][2 * t], As[r + 8][2 * t + 1]);
                    af[i][2] = to_bf16x2(As[r][2 * t + 8], As[r][2 * t + 9]);
                    af[i][3] = to_bf16x2(As[r + 8][2 * t + 8], As[r + 8][2 * t + 9]);
                }
#pragma unroll
                for (int j = 0; j < 4; j++) {
                    int col = wn + j * 8 + group;
                    bf[j][0] = to_bf16x2(Bs[2 * t][col], Bs[2 * t + 1][col]);
                    bf[j][1] = to_bf16x2(Bs[2 * t + 8][col], Bs[2 * t + 9][col]);
                }
#pragma unroll
                for (int i = 0; i < 2; i++)
#pragma unroll
                    for (int j = 0; j < 4; j++)
                        mma_bf16(acc[i][j], af[i][0], af[i][1], af[i][2], af[i][3], bf[j][0], bf[j][1]);
            } else {
#pragma unroll
                for (int ks = 0; ks < T_BK; ks += 8) {
                    uint32_t af[2][4], bf[4][2];
#pragma unroll
                    for (int i = 0; i < 2; i++) {
                        int r = wm + i * 16 + group;
                        af[i][0] = to_tf32(As[r][ks + t]);
                        af[i][1] = to_tf32(As[r + 8][ks + t]);
                        af[i][2] = to_tf32(As[r][ks + t + 4]);
                        af[i][3] = to_tf32(As[r + 8][ks + t + 4]);
                    }
#pragma unroll
                    for (int j = 0; j < 4; j++) {
                        int col = wn + j * 8 + group;
                        bf[j][0] = to_tf32(Bs[ks + t][col]);
                        bf[j][1] = to_tf32(Bs[ks + t + 4][col]);
                    }
#pragma unroll
                    for (int i = 0; i < 2; i++)
#pragma unroll
                        for (int j = 0; j < 4; j++)
                            mma_tf32(acc[i][j], af[i][0], af[i][1], af[i][2], af[i][3], bf[j][0], bf[j][1]);
                }
            }
            __syncthreads();
        }
        float* c = C + oo;
#pragma unroll
        for (int i = 0; i < 2; i++) {
#pragma unroll
            for (int j = 0; j < 4; j++) {
#pragma unroll
                for (int q = 0; q < 4; q++) {
                    int gm = m0 + wm + i * 16 + group + (q >> 1) * 8;
                    int gn = n0 + wn + j * 8 + 2 * t + (q & 1);
                    if (gm < g.m && gn < g.n) {
                        float* p = c + (long long) gm * g.som + (long long) gn * g.son;
                        *p = g.accumulate ? *p + acc[i][j][q] : acc[i][j][q];
                    }
                }
            }
        }
    }
}

extern "C" __global__ void __launch_bounds__(128) loupe_gemm_tf32(GemmGeometry g, const float* A, const float* B,
                                                                  float* C) {
    gemm_tensor_core<false>(g, A, B, C);
}

extern "C" __global__ void __launch_bounds__(128) loupe_gemm_bf16(GemmGeometry g, const float* A, const float* B,
                                                                  float* C) {
    gemm_tensor_core<true>(g, A, B, C);
}
