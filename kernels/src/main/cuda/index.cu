// Index kernels: indexSelect / indexAdd (embedding forward / backward), gather / scatterAdd, and topK. Geometries
// here keep every dim (no merging), because the kernels need the coordinate along `dim`.
#include "common.cuh"

// out = a with dim `dim` re-indexed by index: out[..., i, ...] = a[..., index[i], ...]. Iterates out's shape;
// operand 0 = a with its `dim` stride set to 0, operand 1 = out. aDimStride: a's real stride along dim.
extern "C" __global__ void loupe_index_select(Geometry g, const float* a, const float* index, float* out, int dim,
                                              int indexStride, int aDimStride) {
    LOUPE_FOR(i, g.n) {
        int c = coord_of(g, i, dim);
        long long id = (long long) index[(long long) c * indexStride];
        out[offset_of(g, 1, i)] = a[offset_of(g, 0, i) + id * aDimStride];
    }
}

// dst[..., index[i], ...] += src[..., i, ...]. Iterates src's shape; operand 0 = dst with its `dim` stride set to 0,
// operand 1 = src. Repeated indices meet through atomicAdd (sum order unspecified).
extern "C" __global__ void loupe_index_add(Geometry g, float* dst, const float* index, const float* src, int dim,
                                           int indexStride, int dstDimStride) {
    LOUPE_FOR(i, g.n) {
        int c = coord_of(g, i, dim);
        long long id = (long long) index[(long long) c * indexStride];
        atomicAdd(dst + offset_of(g, 0, i) + id * dstDimStride, src[offset_of(g, 1, i)]);
    }
}

// out[i] = a[i with its `dim` coordinate replaced by index[i]]. Iterates out's shape; operands: 0 = a with its `dim`
// stride set to 0, 1 = index, 2 = out.
extern "C" __global__ void loupe_gather(Geometry g, const float* a, const float* index, float* out, int aDimStride) {
    LOUPE_FOR(i, g.n) {
        long long id = (long long) index[offset_of(g, 1, i)];
        out[offset_of(g, 2, i)] = a[offset_of(g, 0, i) + id * aDimStride];
    }
}

// dst[i with its `dim` coordinate replaced by index[i]] += src[i]. Iterates src's shape; operands: 0 = dst with its
// `dim` stride set to 0, 1 = index, 2 = src.
extern "C" __global__ void loupe_scatter_add(Geometry g, float* dst, const float* index, const float* src,
                                             int dstDimStride) {
    LOUPE_FOR(i, g.n) {
        long long id = (long long) index[offset_of(g, 1, i)];
        atomicAdd(dst + offset_of(g, 0, i) + id * dstDimStride, src[offset_of(g, 2, i)]);
    }
}

// A key whose ascending order is the wanted order (as the CPU's IndexKernels.orderKey): the value's order bits in
// the high 32 (negated when largest), the column in the low 32, so ties go to the lower column. NaN sorts above +inf.
__device__ __forceinline__ long long order_key(float v, int col, int largest) {
    int bits = __float_as_int(v == 0.f ? 0.f : v);
    if (v != v) bits = 0x7fc00000; // Java's floatToIntBits canonical NaN
    int key = bits ^ ((bits >> 31) & 0x7fffffff);
    if (largest) key = ~key;
    return ((long long) key << 32) | (unsigned int) col;
}

// The k largest (or smallest) of each row along the last dim, sorted, ties by lower index. One warp per row: each
// of the k rounds finds the smallest key above the previous round's. Iterates the kept (leading) dims; operands:
// 0 = a, 1 = values, 2 = indices (row starts).
extern "C" __global__ void loupe_top_k(Geometry g, const float* a, float* values, float* indices, int size,
                                       int aStride, int vStride, int iStride, int k, int largest) {
    int lane = threadIdx.x & 31;
    long long warps = ((long long) blockDim.x * gridDim.x) >> 5;
    for (long long o = ((long long) blockIdx.x * blockDim.x + threadIdx.x) >> 5; o < g.n; o += warps) {
        const float* row = a + offset_of(g, 0, o);
        float* vrow = values + offset_of(g, 1, o);
        float* irow = indices + offset_of(g, 2, o);
        long long prev = 0;
        for (int c = 0; c < k; c++) {
            long long best = 0x7fffffffffffffffLL;
            for (int j = lane; j < size; j += 32) {
                long long key = order_key(row[(long long) j * aStride], j, largest);
                if ((c == 0 || key > prev) && key < best) best = key;
            }
            for (int w = 16; w > 0; w >>= 1) {
                long long other = __shfl_xor_sync(0xffffffffu, best, w);
                best = other < best ? other : best;
            }
            prev = best;
            if (lane == 0) {
                int col = (int) (best & 0xffffffffLL);
                vrow[(long long) c * vStride] = row[(long long) col * aStride];
                irow[(long long) c * iStride] = (float) col;
            }
        }
    }
}
