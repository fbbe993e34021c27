// Strided elementwise kernels: fill, copy, unary, binary, where. Broadcasting is already expanded by the caller
// (stride-0 dims), so every operand is read at the output's shape through its own strides.
#include "common.cuh"

// Op codes are the ordinals of dev.loupe.tensor.UnaryOp / BinaryOp, in the same order (KernelAbiTest parses these enums).
enum Unary {
    U_NEG, U_EXP, U_LOG, U_SQRT, U_RSQRT, U_TANH, U_RELU, U_SIGMOID, U_ABS, U_SQUARE, U_RECIPROCAL, U_SIGN,
    U_GELU_ERF, U_GELU_TANH, U_GELU_ERF_GRAD, U_GELU_TANH_GRAD, U_ADD_SCALAR, U_MUL_SCALAR, U_POW_SCALAR, U_CLAMP
};

enum Binary { B_ADD, B_SUB, B_MUL, B_DIV, B_POW, B_MAX, B_MIN, B_EQ, B_NE, B_LT, B_LE, B_GT, B_GE };

#define SQRT_2_OVER_PI 0.7978845608028654
#define INV_SQRT_2 0.7071067811865476
#define INV_SQRT_2PI 0.3989422804014327

// The same definitions as dev.loupe.tensor.cpu.Scalar; transcendental ones in double, rounded once.
__device__ __forceinline__ float unary_op(int op, float x, float p0, float p1) {
    switch (op) {
        case U_NEG: return -x;
        case U_EXP: return (float) exp((double) x);
        case U_LOG: return (float) log((double) x);
        case U_SQRT: return (float) sqrt((double) x);
        case U_RSQRT: return (float) (1.0 / sqrt((double) x));
        case U_TANH: return (float) tanh((double) x);
        case U_RELU: return x > 0.f ? x : 0.f;
        case U_SIGMOID: return (float) (1.0 / (1.0 + exp(-(double) x)));
        case U_ABS: return fabsf(x);
        case U_SQUARE: return x * x;
        case U_RECIPROCAL: return 1.f / x;
        case U_SIGN: return x > 0.f ? 1.f : (x < 0.f ? -1.f : x); // keeps ±0 and NaN, as Math.signum
        case U_GELU_ERF: return (float) (0.5 * x * (1.0 + erf(x * INV_SQRT_2)));
        case U_GELU_TANH: {
            double xd = x;
            return (float) (0.5 * xd * (1.0 + tanh(SQRT_2_OVER_PI * (xd + 0.044715 * xd * xd * xd))));
        }
        case U_GELU_ERF_GRAD: {
            double xd = x;
            double cdf = 0.5 * (1.0 + erf(xd * INV_SQRT_2));
            double pdf = exp(-0.5 * xd * xd) * INV_SQRT_2PI;
            return (float) (cdf + xd * pdf);
        }
        case U_GELU_TANH_GRAD: {
            double xd = x;
            double u = SQRT_2_OVER_PI * (xd + 0.044715 * xd * xd * xd);
            double t = tanh(u);
            double du = SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044715 * xd * xd);
            return (float) (0.5 * (1.0 + t) + 0.5 * xd * (1.0 - t * t) * du);
        }
        case U_ADD_SCALAR: return x + p0;
        case U_MUL_SCALAR: return x * p0;
        case U_POW_SCALAR: return (float) pow((double) x, (double) p0);
        case U_CLAMP: return fminf(fmaxf(x, p0), p1);
    }
    return __int_as_float(0x7fc00000); // unknown op: NaN, never silently a number
}

// Math.max/min semantics: NaN if either is NaN.
__device__ __forceinline__ float java_max(float a, float b) { return (a != a || b != b) ? __int_as_float(0x7fc00000) : fmaxf(a, b); }
__device__ __forceinline__ float java_min(float a, float b) { return (a != a || b != b) ? __int_as_float(0x7fc00000) : fminf(a, b); }

__device__ __forceinline__ float binary_op(int op, float a, float b) {
    switch (op) {
        case B_ADD: return a + b;
        case B_SUB: return a - b;
        case B_MUL: return a * b;
        case B_DIV: return a / b;
        case B_POW: return (float) pow((double) a, (double) b);
        case B_MAX: return java_max(a, b);
        case B_MIN: return java_min(a, b);
        case B_EQ: return a == b ? 1.f : 0.f;
        case B_NE: return a != b ? 1.f : 0.f;
        case B_LT: return a < b ? 1.f : 0.f;
        case B_LE: return a <= b ? 1.f : 0.f;
        case B_GT: return a > b ? 1.f : 0.f;
        case B_GE: return a >= b ? 1.f : 0.f;
    }
    return __int_as_float(0x7fc00000);
}

// out[i] = value. Operand 0: out.
extern "C" __global__ void loupe_fill(Geometry g, float* out, float value) {
    LOUPE_FOR(i, g.n) out[offset_of(g, 0, i)] = value;
}

// out[i] = src[i]. Operands: 0 src, 1 out.
extern "C" __global__ void loupe_copy(Geometry g, const float* src, float* out) {
    LOUPE_FOR(i, g.n) out[offset_of(g, 1, i)] = src[offset_of(g, 0, i)];
}

// out[i] = op(a[i]; p0, p1). Operands: 0 a, 1 out.
extern "C" __global__ void loupe_unary(Geometry g, const float* a, float* out, int op, float p0, float p1) {
    LOUPE_FOR(i, g.n) out[offset_of(g, 1, i)] = unary_op(op, a[offset_of(g, 0, i)], p0, p1);
}

// out[i] = op(a[i], b[i]). Operands: 0 a, 1 b, 2 out.
extern "C" __global__ void loupe_binary(Geometry g, const float* a, const float* b, float* out, int op) {
    LOUPE_FOR(i, g.n) out[offset_of(g, 2, i)] = binary_op(op, a[offset_of(g, 0, i)], b[offset_of(g, 1, i)]);
}

// out[i] = cond[i] != 0 ? a[i] : b[i]. Operands: 0 cond, 1 a, 2 b, 3 out.
extern "C" __global__ void loupe_where(Geometry g, const float* cond, const float* a, const float* b, float* out) {
    LOUPE_FOR(i, g.n) {
        float c = cond[offset_of(g, 0, i)];
        out[offset_of(g, 3, i)] = c != 0.f ? a[offset_of(g, 1, i)] : b[offset_of(g, 2, i)];
    }
}
