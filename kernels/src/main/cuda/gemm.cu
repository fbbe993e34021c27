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

// ---------------------------------------------------------------- tensor cores, large tiles: 128x128, cp.async

// The fast path for TF32/BF16 products whose operands each have a unit stride along one dim (row- or column-major,
// so every transpose of a dense matrix qualifies), that dim's extent a multiple of 4 and the other stride a multiple
// of 4, with 16-byte-aligned bases (CudaBackend checks all of it and uses the kernels above otherwise). A block of
// 256 threads (8 warps as 2 x 4, each owning a 64x32 piece) computes a 128x128 tile of out; k advances 16 at a time
// through two shared-memory stages filled by cp.async (16-byte copies, zero-filled past the edges), so the copy of
// step s + 1 overlaps the tensor-core work of step s. Operands stay float32 in shared memory and are rounded to
// TF32 or BF16 when fragments are read (which is why there is no ldmatrix: it moves 16-bit elements).

#define L_BM 128
#define L_BN 128
#define L_BK 16
#define L_STAGE_FLOATS 2560 // max(128 x (16 + 4), 16 x (128 + 8)): one operand's tile, padded

// Row pitch of a staged tile with `cols` columns. The padding makes the fragment reads conflict-free: 16-wide rows
// (+4: a warp reads rows group·20 + t, 32 distinct banks) and 128-wide rows (+8: rows t·136 + group).
__host__ __device__ constexpr int pitch(int cols) {
    return cols + (cols == L_BK ? 4 : 8);
}

__device__ __forceinline__ void cp_async16(float* smem, const float* gmem, bool valid) {
    unsigned s = (unsigned) __cvta_generic_to_shared(smem);
    int bytes = valid ? 16 : 0; // 0: nothing is read, the 16 bytes are zero-filled
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(gmem), "r"(bytes));
}

__device__ __forceinline__ void cp_async_commit() {
    asm volatile("cp.async.commit_group;\n" ::);
}

__device__ __forceinline__ void cp_async_wait_one() { // all but the newest group have landed
    asm volatile("cp.async.wait_group 1;\n" ::);
}

// One operand's [rows, cols] tile (rows x cols = 2048 floats, as 512 16-byte chunks, 2 per thread) from a matrix
// whose unit-stride dim is cols: tile element (r, c) goes to s[r * pitch(cols) + c].
__device__ __forceinline__ void load_tile(float* s, const float* g, long long rowStride, int rows, int cols,
                                          int rowLimit, int colLimit, int tid) {
#pragma unroll
    for (int i = 0; i < 2; i++) {
        int chunk = tid + i * 256, perRow = cols / 4;
        int r = chunk / perRow, c = (chunk % perRow) * 4;
        bool valid = r < rowLimit && c < colLimit;
        const float* src = valid ? g + (long long) r * rowStride + c : g;
        cp_async16(s + r * pitch(cols) + c, src, valid);
    }
}

// A_COL: a is column-major (sam == 1), staged [k][m]; else row-major (sak == 1), staged [m][k].
// B_COL: b is column-major (sbk == 1), staged [n][k]; else row-major (sbn == 1), staged [k][n].
template <bool BF16, bool A_COL, bool B_COL>
__device__ __forceinline__ void gemm_large(const GemmGeometry& g, const float* A, const float* B, float* C) {
    __shared__ __align__(16) float smem[2][2][L_STAGE_FLOATS]; // [stage][a | b]
    int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    int group = lane >> 2, t = lane & 3;
    int wm = (warp >> 2) * 64, wn = (warp & 3) * 32;
    int m0 = blockIdx.y * L_BM, n0 = blockIdx.x * L_BN;
    for (int z = blockIdx.z; z < g.batch; z += gridDim.z) {
        long long oa, ob, oo;
        batch_offsets(g, z, &oa, &ob, &oo);
        const float* a = A + oa;
        const float* b = B + ob;
        int tiles = (g.k + L_BK - 1) / L_BK;
        auto stage = [&](int buf, int k0) {
            if (A_COL) load_tile(smem[buf][0], a + (long long) k0 * g.sak + m0, g.sak, L_BK, L_BM, g.k - k0, g.m - m0, tid);
            else load_tile(smem[buf][0], a + (long long) m0 * g.sam + k0, g.sam, L_BM, L_BK, g.m - m0, g.k - k0, tid);
            if (B_COL) load_tile(smem[buf][1], b + (long long) n0 * g.sbn + k0, g.sbn, L_BN, L_BK, g.n - n0, g.k - k0, tid);
            else load_tile(smem[buf][1], b + (long long) k0 * g.sbk + n0, g.sbk, L_BK, L_BN, g.k - k0, g.n - n0, tid);
        };
        float acc[4][4][4] = {};
        stage(0, 0);
        cp_async_commit();
        for (int kt = 0; kt < tiles; kt++) {
            if (kt + 1 < tiles) stage((kt + 1) & 1, (kt + 1) * L_BK);
            cp_async_commit(); // possibly empty: keeps "wait for all but the newest" right on the last step
            cp_async_wait_one();
            __syncthreads();
            const float* as = smem[kt & 1][0];
            const float* bs = smem[kt & 1][1];
            // Tile element accessors: a (row r of m, k) and b (k, column c of n).
            auto av = [&](int r, int k) { return A_COL ? as[k * pitch(L_BM) + r] : as[r * pitch(L_BK) + k]; };
            auto bv = [&](int k, int c) { return B_COL ? bs[c * pitch(L_BK) + k] : bs[k * pitch(L_BN) + c]; };
            if (BF16) {
                uint32_t af[4][4], bf[4][2];
#pragma unroll
                for (int i = 0; i < 4; i++) {
                    int r = wm + i * 16 + group;
                    af[i][0] = to_bf16x2(av(r, 2 * t), av(r, 2 * t + 1));
                    af[i][1] = to_bf16x2(av(r + 8, 2 * t), av(r + 8, 2 * t + 1));
                    af[i][2] = to_bf16x2(av(r, 2 * t + 8), av(r, 2 * t + 9));
                    af[i][3] = to_bf16x2(av(r + 8, 2 * t + 8), av(r + 8, 2 * t + 9));
                }
#pragma unroll
                for (int j = 0; j < 4; j++) {
                    int col = wn + j * 8 + group;
                    bf[j][0] = to_bf16x2(bv(2 * t, col), bv(2 * t + 1, col));
                    bf[j][1] = to_bf16x2(bv(2 * t + 8, col), bv(2 * t + 9, col));
                }
#pragma unroll
                for (int i = 0; i < 4; i++)
#pragma unroll
                    for (int j = 0; j < 4; j++)
                        mma_bf16(acc[i][j], af[i][0], af[i][1], af[i][2], af[i][3], bf[j][0], bf[j][1]);
            } else {
#pragma unroll
                for (int ks = 0; ks < L_BK; ks += 8) {
                    uint32_t af[4][4], bf[4][2];
#pragma unroll
                    for (int i = 0; i < 4; i++) {
                        int r = wm + i * 16 + group;
                        af[i][0] = to_tf32(av(r, ks + t));
                        af[i][1] = to_tf32(av(r + 8, ks + t));
                        af[i][2] = to_tf32(av(r, ks + t + 4));
                        af[i][3] = to_tf32(av(r + 8, ks + t + 4));
                    }
#pragma unroll
                    for (int j = 0; j < 4; j++) {
                        int col = wn + j * 8 + group;
                        bf[j][0] = to_tf32(bv(ks + t, col));
                        bf[j][1] = to_tf32(bv(ks + t + 4, col));
                    }
#pragma unroll
                    for (int i = 0; i < 4; i++)
#pragma unroll
                        for (int j = 0; j < 4; j++)
                            mma_tf32(acc[i][j], af[i][0], af[i][1], af[i][2], af[i][3], bf[j][0], bf[j][1]);
                }
            }
            __syncthreads(); // the stage just read is refilled two steps on
        }
        float* c = C + oo;
#pragma unroll
        for (int i = 0; i < 4; i++) {
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
        __syncthreads(); // the next batch entry's first stage overwrites shared memory
    }
}

#define LOUPE_GEMM_LARGE(name, bf16, acol, bcol)                                                      \
    extern "C" __global__ void __launch_bounds__(256, 2) name(GemmGeometry g, const float* A, const float* B, \
                                                              float* C) {                                     \
        gemm_large<bf16, acol, bcol>(g, A, B, C);                                                             \
    }

LOUPE_GEMM_LARGE(loupe_gemm128_tf32_rr, false, false, false)
LOUPE_GEMM_LARGE(loupe_gemm128_tf32_rc, false, false, true)
LOUPE_GEMM_LARGE(loupe_gemm128_tf32_cr, false, true, false)
LOUPE_GEMM_LARGE(loupe_gemm128_tf32_cc, false, true, true)
LOUPE_GEMM_LARGE(loupe_gemm128_bf16_rr, true, false, false)
LOUPE_GEMM_LARGE(loupe_gemm128_bf16_rc, true, false, true)
LOUPE_GEMM_LARGE(loupe_gemm128_bf16_cr, true, true, false)
LOUPE_GEMM_LARGE(loupe_gemm128_bf16_cc, true, true, true)
