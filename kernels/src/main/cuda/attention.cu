// Fused scaled-dot-product attention, FlashAttention-2 style, in FP32: softmax(q·kᵀ·scale + mask)·v without a
// [p, s] score matrix in global memory. The forward keeps a running max and sum per query row (online softmax) while
// key/value tiles stream through shared memory, and writes each row's log-sum-exp; the backward recomputes the pattern
// from that log-sum-exp: P = exp(score - lse).
//
// Layouts (elements): q [b, p, h, d], k and v [b, s, h, d] with any batch/position/head strides and unit stride along
// d; mask null or [b, 1, p, s] with any strides (0 for broadcast dims), an additive constant; out, gOut, gq [b, p, h, d]
// and gk, gv [b, s, h, d] contiguous; lse [b, h, p]; dvec [b, p, h]. d <= ATT_D (the Java side runs the composite ops
// for larger heads). A fully masked row gives nan (0/0), as the composite softmax does.
//
// Thread layout, every kernel: ATT_WARPS warps of 32 lanes; a warp owns ATT_RPW rows (queries, or keys in the dK/dV
// kernel) of the block's ATT_BR; the staged tile has ATT_BC = 32 entries, one per lane, so a lane computes one score
// per owned row by a dot product over d, and softmax statistics are warp reductions. For the products with V (or K,
// Q, dO) a lane owns the d columns e = c * 32 + lane, c < ATT_COLS, and the tile's weights are broadcast with shuffles.
// Shared arrays read by "lane j reads row j" are padded to ATT_D + 1 columns so the 32 lanes hit 32 banks.
#include "common.cuh"

#define ATT_D 64                      // largest d_head
#define ATT_WARPS 8                   // 256 threads per block
#define ATT_RPW 4                     // rows per warp
#define ATT_BR (ATT_WARPS * ATT_RPW)  // 32 rows per block
#define ATT_BC 32                     // tile entries: one per lane
#define ATT_COLS (ATT_D / 32)         // d columns per lane
#define ATT_FULL 0xffffffffu

// (dot · scale) + mask in two roundings, as the composite ops (a product, then an add) compute it.
__device__ __forceinline__ float att_score(float dot, float scale, const float* maskRow, int mss, int key) {
    float x = __fmul_rn(dot, scale);
    return maskRow ? __fadd_rn(x, maskRow[(long long) key * mss]) : x;
}

// Copies rows [r0, r0 + rows) of a [n, d] operand (row stride rs, unit column stride) into dst[rows][ld], zero past n
// or d, with the whole block.
__device__ __forceinline__ void att_stage(float* dst, int ld, const float* src, long long rs, int r0, int rows, int n,
                                          int d) {
    for (int idx = threadIdx.x; idx < rows * ATT_D; idx += blockDim.x) {
        int r = idx / ATT_D, e = idx % ATT_D, row = r0 + r;
        dst[r * ld + e] = row < n && e < d ? src[(long long) row * rs + e] : 0.f;
    }
}

// Forward. Grid: x = b·h, y = ceil(p / ATT_BR); block ATT_WARPS·32. Each warp carries, for its ATT_RPW queries, the
// running max m, running sum l and output accumulators acc[ATT_COLS] (its lane's columns) across all key tiles.
extern "C" __global__ void __launch_bounds__(ATT_WARPS * 32)
loupe_attention_forward(const float* q, const float* k, const float* v, const float* mask, float* out, float* lse,
                        int h, int p, int s, int d, float scale,
                        int qsb, int qsp, int qsh, int ksb, int kss, int ksh, int vsb, int vss, int vsh,
                        int msb, int msp, int mss) {
    __shared__ float qs[ATT_BR][ATT_D];      // the block's queries (every lane reads the same element: broadcast)
    __shared__ float ks[ATT_BC][ATT_D + 1];  // key tile: lane j reads row j
    __shared__ float vs[ATT_BC][ATT_D];      // value tile: lanes read consecutive columns of one row
    int bh = blockIdx.x, bi = bh / h, hi = bh % h, q0 = blockIdx.y * ATT_BR;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const float* kb = k + (long long) bi * ksb + (long long) hi * ksh;
    const float* vb = v + (long long) bi * vsb + (long long) hi * vsh;
    att_stage(&qs[0][0], ATT_D, q + (long long) bi * qsb + (long long) hi * qsh, qsp, q0, ATT_BR, p, d);

    float m[ATT_RPW], l[ATT_RPW], acc[ATT_RPW][ATT_COLS];
    const float* maskRow[ATT_RPW];
#pragma unroll
    for (int t = 0; t < ATT_RPW; t++) {
        m[t] = -INFINITY;
        l[t] = 0.f;
#pragma unroll
        for (int c = 0; c < ATT_COLS; c++) acc[t][c] = 0.f;
        int i = q0 + warp * ATT_RPW + t;
        maskRow[t] = mask && i < p ? mask + (long long) bi * msb + (long long) i * msp : nullptr;
    }
    for (int k0 = 0; k0 < s; k0 += ATT_BC) {
        __syncthreads(); // every warp is done with the previous tile (and qs is written, on the first pass)
        att_stage(&ks[0][0], ATT_D + 1, kb, kss, k0, ATT_BC, s, d);
        att_stage(&vs[0][0], ATT_D, vb, vss, k0, ATT_BC, s, d);
        __syncthreads();
        int key = k0 + lane;
        float dot[ATT_RPW];
#pragma unroll
        for (int t = 0; t < ATT_RPW; t++) dot[t] = 0.f;
        for (int e = 0; e < d; e++) {
            float kv = ks[lane][e];
#pragma unroll
            for (int t = 0; t < ATT_RPW; t++) dot[t] = fmaf(qs[warp * ATT_RPW + t][e], kv, dot[t]);
        }
#pragma unroll
        for (int t = 0; t < ATT_RPW; t++) {
            if (q0 + warp * ATT_RPW + t >= p) continue; // warp-uniform: shuffles below see all 32 lanes
            float x = key < s ? att_score(dot[t], scale, maskRow[t], mss, key) : -INFINITY;
            float mNew = fmaxf(m[t], warp_max(x));
            // While no key of the row has been visible, every term is 0 (exp(-inf - 0)), not exp(-inf + inf) = nan.
            float base = mNew == -INFINITY ? 0.f : mNew;
            float pj = expf(x - base), alpha = expf(m[t] - base);
            l[t] = l[t] * alpha + warp_sum(pj);
#pragma unroll
            for (int c = 0; c < ATT_COLS; c++) acc[t][c] *= alpha;
            for (int jj = 0; jj < ATT_BC; jj++) {
                float w = __shfl_sync(ATT_FULL, pj, jj);
#pragma unroll
                for (int c = 0; c < ATT_COLS; c++) acc[t][c] = fmaf(w, vs[jj][c * 32 + lane], acc[t][c]);
            }
            m[t] = mNew;
        }
    }
#pragma unroll
    for (int t = 0; t < ATT_RPW; t++) {
        int i = q0 + warp * ATT_RPW + t;
        if (i >= p) continue;
        float* o = out + (((long long) bi * p + i) * h + hi) * d;
#pragma unroll
        for (int c = 0; c < ATT_COLS; c++) {
            int e = c * 32 + lane;
            if (e < d) o[e] = acc[t][c] / l[t];
        }
        if (lane == 0 && lse) lse[(long long) bh * p + i] = m[t] + logf(l[t]);
    }
}

// dvec[r] = Σ_e gOut[r, e] · out[r, e] for the rows r = (bi·p + i)·h + hi of the contiguous [b, p, h, d] tensors: the
// D of the softmax backward, one warp per row (grid-stride).
extern "C" __global__ void loupe_attention_rowdot(const float* out, const float* gout, float* dvec, long long rows,
                                                  int d) {
    int lane = threadIdx.x & 31;
    long long warps = (long long) gridDim.x * (blockDim.x >> 5);
    for (long long r = (long long) blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); r < rows; r += warps) {
        float acc = 0.f;
        for (int e = lane; e < d; e += 32) acc = fmaf(gout[r * d + e], out[r * d + e], acc);
        acc = warp_sum(acc);
        if (lane == 0) dvec[r] = acc;
    }
}

// dQ. Grid and block as the forward. For its ATT_RPW queries a warp recomputes, per key tile, P = exp(score - lse)
// and dS = P · (dO·v - D) · scale (lane j: key j), and accumulates dq[c] += Σ_j dS_j · k_j[c·32 + lane].
extern "C" __global__ void __launch_bounds__(ATT_WARPS * 32)
loupe_attention_backward_dq(const float* q, const float* k, const float* v, const float* mask, const float* lse,
                            const float* dvec, const float* gout, float* gq, int h, int p, int s, int d, float scale,
                            int qsb, int qsp, int qsh, int ksb, int kss, int ksh, int vsb, int vss, int vsh,
                            int msb, int msp, int mss) {
    __shared__ float qs[ATT_BR][ATT_D];      // the block's queries (broadcast reads)
    __shared__ float gs[ATT_BR][ATT_D];      // their output gradients (broadcast reads)
    __shared__ float ks[ATT_BC][ATT_D + 1];  // key tile: lane j reads row j, then rows are read across lanes
    __shared__ float vs[ATT_BC][ATT_D + 1];  // value tile: lane j reads row j
    int bh = blockIdx.x, bi = bh / h, hi = bh % h, q0 = blockIdx.y * ATT_BR;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const float* kb = k + (long long) bi * ksb + (long long) hi * ksh;
    const float* vb = v + (long long) bi * vsb + (long long) hi * vsh;
    att_stage(&qs[0][0], ATT_D, q + (long long) bi * qsb + (long long) hi * qsh, qsp, q0, ATT_BR, p, d);
    att_stage(&gs[0][0], ATT_D, gout + (long long) bi * p * h * d + (long long) hi * d, (long long) h * d, q0, ATT_BR,
              p, d);

    float rowLse[ATT_RPW], rowD[ATT_RPW], acc[ATT_RPW][ATT_COLS];
    const float* maskRow[ATT_RPW];
#pragma unroll
    for (int t = 0; t < ATT_RPW; t++) {
        int i = q0 + warp * ATT_RPW + t;
        rowLse[t] = i < p ? lse[(long long) bh * p + i] : 0.f;
        rowD[t] = i < p ? dvec[((long long) bi * p + i) * h + hi] : 0.f;
        maskRow[t] = mask && i < p ? mask + (long long) bi * msb + (long long) i * msp : nullptr;
#pragma unroll
        for (int c = 0; c < ATT_COLS; c++) acc[t][c] = 0.f;
    }
    for (int k0 = 0; k0 < s; k0 += ATT_BC) {
        __syncthreads(); // the previous tile is no longer read (and qs, gs are written, on the first pass)
        att_stage(&ks[0][0], ATT_D + 1, kb, kss, k0, ATT_BC, s, d);
        att_stage(&vs[0][0], ATT_D + 1, vb, vss, k0, ATT_BC, s, d);
        __syncthreads();
        int key = k0 + lane;
        float dq[ATT_RPW], dv[ATT_RPW]; // q_i·k_j and dO_i·v_j
#pragma unroll
        for (int t = 0; t < ATT_RPW; t++) dq[t] = dv[t] = 0.f;
        for (int e = 0; e < d; e++) {
            float kv = ks[lane][e], vv = vs[lane][e];
#pragma unroll
            for (int t = 0; t < ATT_RPW; t++) {
                dq[t] = fmaf(qs[warp * ATT_RPW + t][e], kv, dq[t]);
                dv[t] = fmaf(gs[warp * ATT_RPW + t][e], vv, dv[t]);
            }
        }
#pragma unroll
        for (int t = 0; t < ATT_RPW; t++) {
            if (q0 + warp * ATT_RPW + t >= p) continue; // warp-uniform
            float ds = 0.f;
            if (key < s) {
                float pj = expf(att_score(dq[t], scale, maskRow[t], mss, key) - rowLse[t]);
                ds = (dv[t] - rowD[t]) * pj * scale;
            }
            for (int jj = 0; jj < ATT_BC; jj++) {
                float w = __shfl_sync(ATT_FULL, ds, jj);
#pragma unroll
                for (int c = 0; c < ATT_COLS; c++) acc[t][c] = fmaf(w, ks[jj][c * 32 + lane], acc[t][c]);
            }
        }
    }
#pragma unroll
    for (int t = 0; t < ATT_RPW; t++) {
        int i = q0 + warp * ATT_RPW + t;
        if (i >= p) continue;
        float* o = gq + (((long long) bi * p + i) * h + hi) * d;
#pragma unroll
        for (int c = 0; c < ATT_COLS; c++) {
            int e = c * 32 + lane;
            if (e < d) o[e] = acc[t][c];
        }
    }
}

// dK and dV. Grid: x = b·h, y = ceil(s / ATT_BR); block ATT_WARPS·32. A warp owns ATT_RPW keys of the block's ATT_BR;
// query tiles of ATT_BC stream through shared memory (lane i: query i), and for each owned key j the warp accumulates
// dv[c] += Σ_i P_ij · dO_i[c·32 + lane] and dk[c] += Σ_i dS_ij · q_i[c·32 + lane]. No atomics: each block writes its
// own keys' rows.
extern "C" __global__ void __launch_bounds__(ATT_WARPS * 32)
loupe_attention_backward_dkdv(const float* q, const float* k, const float* v, const float* mask, const float* lse,
                              const float* dvec, const float* gout, float* gk, float* gv, int h, int p, int s, int d,
                              float scale, int qsb, int qsp, int qsh, int ksb, int kss, int ksh, int vsb, int vss,
                              int vsh, int msb, int msp, int mss) {
    __shared__ float ks[ATT_BR][ATT_D];      // the block's keys (broadcast reads)
    __shared__ float vs[ATT_BR][ATT_D];      // their values (broadcast reads)
    __shared__ float qs[ATT_BC][ATT_D + 1];  // query tile: lane i reads row i, then rows are read across lanes
    __shared__ float gs[ATT_BC][ATT_D + 1];  // output-gradient tile, likewise
    __shared__ float tileLse[ATT_BC], tileD[ATT_BC];
    int bh = blockIdx.x, bi = bh / h, hi = bh % h, k0 = blockIdx.y * ATT_BR;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const float* qb = q + (long long) bi * qsb + (long long) hi * qsh;
    const float* gb = gout + (long long) bi * p * h * d + (long long) hi * d;
    att_stage(&ks[0][0], ATT_D, k + (long long) bi * ksb + (long long) hi * ksh, kss, k0, ATT_BR, s, d);
    att_stage(&vs[0][0], ATT_D, v + (long long) bi * vsb + (long long) hi * vsh, vss, k0, ATT_BR, s, d);

    float dk[ATT_RPW][ATT_COLS], dv[ATT_RPW][ATT_COLS];
#pragma unroll
    for (int t = 0; t < ATT_RPW; t++) {
#pragma unroll
        for (int c = 0; c < ATT_COLS; c++) dk[t][c] = dv[t][c] = 0.f;
    }
    for (int i0 = 0; i0 < p; i0 += ATT_BC) {
        __syncthreads(); // the previous query tile is no longer read (and ks, vs are written, on the first pass)
        att_stage(&qs[0][0], ATT_D + 1, qb, qsp, i0, ATT_BC, p, d);
        att_stage(&gs[0][0], ATT_D + 1, gb, (long long) h * d, i0, ATT_BC, p, d);
        if (threadIdx.x < ATT_BC) {
            int i = i0 + threadIdx.x;
            tileLse[threadIdx.x] = i < p ? lse[(long long) bh * p + i] : 0.f;
            tileD[threadIdx.x] = i < p ? dvec[((long long) bi * p + i) * h + hi] : 0.f;
        }
        __syncthreads();
        int i = i0 + lane;
        const float* maskRow = mask && i < p ? mask + (long long) bi * msb + (long long) i * msp : nullptr;
        float sq[ATT_RPW], sv[ATT_RPW]; // q_i·k_j and dO_i·v_j
#pragma unroll
        for (int t = 0; t < ATT_RPW; t++) sq[t] = sv[t] = 0.f;
        for (int e = 0; e < d; e++) {
            float qv = qs[lane][e], gv2 = gs[lane][e];
#pragma unroll
            for (int t = 0; t < ATT_RPW; t++) {
                sq[t] = fmaf(qv, ks[warp * ATT_RPW + t][e], sq[t]);
                sv[t] = fmaf(gv2, vs[warp * ATT_RPW + t][e], sv[t]);
            }
        }
#pragma unroll
        for (int t = 0; t < ATT_RPW; t++) {
            int key = k0 + warp * ATT_RPW + t;
            if (key >= s) continue; // warp-uniform
            float pij = 0.f, ds = 0.f;
            if (i < p) {
                pij = expf(att_score(sq[t], scale, maskRow, mss, key) - tileLse[lane]);
                ds = (sv[t] - tileD[lane]) * pij * scale;
            }
            for (int ii = 0; ii < ATT_BC; ii++) {
                float wp = __shfl_sync(ATT_FULL, pij, ii), ws = __shfl_sync(ATT_FULL, ds, ii);
#pragma unroll
                for (int c = 0; c < ATT_COLS; c++) {
                    dv[t][c] = fmaf(wp, gs[ii][c * 32 + lane], dv[t][c]);
                    dk[t][c] = fmaf(ws, qs[ii][c * 32 + lane], dk[t][c]);
                }
            }
        }
    }
#pragma unroll
    for (int t = 0; t < ATT_RPW; t++) {
        int key = k0 + warp * ATT_RPW + t;
        if (key >= s) continue;
        long long row = (((long long) bi * s + key) * h + hi) * d;
#pragma unroll
        for (int c = 0; c < ATT_COLS; c++) {
            int e = c * 32 + lane;
            if (e < d) {
                gk[row + e] = dk[t][c];
                gv[row + e] = dv[t][c];
            }
        }
    }
}
