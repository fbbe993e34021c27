// Reductions along one dim. The Java side passes a Geometry over the kept positions (the output's shape with the
// reduced dim dropped) with operand 0 = a and operand 1 = out, plus the reduced length and a's stride along it.
// One warp per output element: lanes stride along the reduced dim, then a warp shuffle combines them.
#include "common.cuh"

// The ordinals of dev.loupe.tensor.ReduceOp (KernelAbiTest parses this enum).
enum Reduce { R_SUM, R_MAX, R_MIN };

#define NAN_F __int_as_float(0x7fc00000)

// max/min that propagate NaN (as the CPU kernels do).
__device__ __forceinline__ float pick(int op, float acc, float v) {
    if (v != v || acc != acc) return NAN_F;
    return op == R_MAX ? fmaxf(acc, v) : fminf(acc, v);
}

// out[o] = op over k of a[o, k]. Sums accumulate in double per lane.
extern "C" __global__ void loupe_reduce(Geometry g, const float* a, float* out, int len, int step, int op) {
    int lane = threadIdx.x & 31;
    long long warps = ((long long) blockDim.x * gridDim.x) >> 5;
    for (long long o = ((long long) blockIdx.x * blockDim.x + threadIdx.x) >> 5; o < g.n; o += warps) {
        const float* row = a + offset_of(g, 0, o);
        float r;
        if (op == R_SUM) {
            double s = 0;
            for (int k = lane; k < len; k += 32) s += row[(long long) k * step];
            for (int w = 16; w > 0; w >>= 1) s += __shfl_xor_sync(0xffffffffu, s, w);
            r = (float) s;
        } else {
            float acc = op == R_MAX ? -INFINITY : INFINITY;
            for (int k = lane; k < len; k += 32) acc = pick(op, acc, row[(long long) k * step]);
            for (int w = 16; w > 0; w >>= 1) acc = pick(op, acc, __shfl_xor_sync(0xffffffffu, acc, w));
            r = acc;
        }
        if (lane == 0) out[offset_of(g, 1, o)] = r;
    }
}

// True when (v, i) should win over (bv, bi): NaN counts as the extreme, ties go to the lower index.
__device__ __forceinline__ bool better(bool max, float v, int i, float bv, int bi) {
    if (i < 0) return false;
    if (bi < 0) return true;
    bool vn = v != v, bn = bv != bv;
    if (vn || bn) return vn && (!bn || i < bi);
    if (v == bv) return i < bi;
    return max ? v > bv : v < bv;
}

// values[o], indices[o] = max (or min) of a[o, :] and its first index. Operands: 0 a, 1 values, 2 indices.
extern "C" __global__ void loupe_arg_reduce(Geometry g, const float* a, float* values, float* indices,
                                            int len, int step, int max) {
    int lane = threadIdx.x & 31;
    long long warps = ((long long) blockDim.x * gridDim.x) >> 5;
    for (long long o = ((long long) blockIdx.x * blockDim.x + threadIdx.x) >> 5; o < g.n; o += warps) {
        const float* row = a + offset_of(g, 0, o);
        float bv = 0.f;
        int bi = -1;
        for (int k = lane; k < len; k += 32) {
            float v = row[(long long) k * step];
            if (better(max, v, k, bv, bi)) { bv = v; bi = k; }
        }
        for (int w = 16; w > 0; w >>= 1) {
            float ov = __shfl_xor_sync(0xffffffffu, bv, w);
            int oi = __shfl_xor_sync(0xffffffffu, bi, w);
            if (better(max, ov, oi, bv, bi)) { bv = ov; bi = oi; }
        }
        if (lane == 0) {
            values[offset_of(g, 1, o)] = bv;
            indices[offset_of(g, 2, o)] = (float) bi;
        }
    }
}
