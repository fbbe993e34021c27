// Row kernels of the neural-network ops: softmax (plain, log, and fused scale + causal mask) with its backward,
// LayerNorm forward/backward, cross-entropy forward/backward and the AdamW update. Every tensor is contiguous;
// rows run one per block (grid-stride over rows), blockDim.x a multiple of 32.
#include "common.cuh"

// out[r, :] = softmax(x[r, :]) (or log-softmax). x, out: [rows, d].
extern "C" __global__ void loupe_softmax(const float* x, float* out, int rows, int d, int log) {
    for (int r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* xr = x + (long long) r * d;
        float* yr = out + (long long) r * d;
        float m = -INFINITY;
        for (int j = threadIdx.x; j < d; j += blockDim.x) m = fmaxf(m, xr[j]);
        m = block_max(m);
        float s = 0.f;
        for (int j = threadIdx.x; j < d; j += blockDim.x) s += expf(xr[j] - m);
        s = block_sum(s);
        if (log) {
            float lse = m + logf(s);
            for (int j = threadIdx.x; j < d; j += blockDim.x) yr[j] = xr[j] - lse;
        } else {
            float inv = 1.f / s;
            for (int j = threadIdx.x; j < d; j += blockDim.x) yr[j] = expf(xr[j] - m) * inv;
        }
    }
}

// Attention pattern in one pass: out = softmax(scale * x) over keys j <= q + (kLen - qLen), zero elsewhere, where
// q = r % qLen is the query position of row r. x, out: [batch * heads * qLen, kLen] (kLen >= qLen: keys of earlier
// positions come first, as with a KV cache).
extern "C" __global__ void loupe_softmax_causal(const float* x, float* out, int rows, int qLen, int kLen, float scale) {
    for (int r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* xr = x + (long long) r * kLen;
        float* yr = out + (long long) r * kLen;
        int last = r % qLen + (kLen - qLen); // last visible key
        float m = -INFINITY;
        for (int j = threadIdx.x; j <= last && j < kLen; j += blockDim.x) m = fmaxf(m, scale * xr[j]);
        m = block_max(m);
        float s = 0.f;
        for (int j = threadIdx.x; j <= last && j < kLen; j += blockDim.x) s += expf(scale * xr[j] - m);
        s = block_sum(s);
        float inv = 1.f / s;
        for (int j = threadIdx.x; j < kLen; j += blockDim.x) yr[j] = j <= last ? expf(scale * xr[j] - m) * inv : 0.f;
    }
}

// gx = y * (gy - sum(gy * y)) for softmax, gx = gy - exp(y) * sum(gy) for log-softmax. All [rows, d].
extern "C" __global__ void loupe_softmax_backward(const float* y, const float* gy, float* gx, int rows, int d, int log) {
    for (int r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* yr = y + (long long) r * d;
        const float* gr = gy + (long long) r * d;
        float* xr = gx + (long long) r * d;
        float s = 0.f;
        for (int j = threadIdx.x; j < d; j += blockDim.x) s += log ? gr[j] : gr[j] * yr[j];
        s = block_sum(s);
        for (int j = threadIdx.x; j < d; j += blockDim.x) {
            xr[j] = log ? gr[j] - expf(yr[j]) * s : yr[j] * (gr[j] - s);
        }
    }
}

// out = (x - mean) * rstd * w + b over the last dim; x, out: [rows, d]; w, b: [d] or null; mean, rstd: [rows].
extern "C" __global__ void loupe_layer_norm(const float* x, const float* w, const float* b, float* out,
                                            float* mean, float* rstd, int rows, int d, float eps) {
    for (int r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* xr = x + (long long) r * d;
        float* yr = out + (long long) r * d;
        float s = 0.f;
        for (int j = threadIdx.x; j < d; j += blockDim.x) s += xr[j];
        float mu = block_sum(s) / d;
        float v = 0.f;
        for (int j = threadIdx.x; j < d; j += blockDim.x) { float c = xr[j] - mu; v += c * c; }
        float rs = rsqrtf(block_sum(v) / d + eps);
        for (int j = threadIdx.x; j < d; j += blockDim.x) {
            float y = (xr[j] - mu) * rs;
            if (w) y *= w[j];
            if (b) y += b[j];
            yr[j] = y;
        }
        if (threadIdx.x == 0) { mean[r] = mu; rstd[r] = rs; }
    }
}

// Input gradient of LayerNorm: with h = x̂ = (x - mean) * rstd and g = gy * w,
// gx = rstd * (g - mean(g) - h * mean(g * h)). All [rows, d]; w [d] or null.
extern "C" __global__ void loupe_layer_norm_backward(const float* x, const float* w, const float* mean,
                                                     const float* rstd, const float* gy, float* gx, int rows, int d) {
    for (int r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* xr = x + (long long) r * d;
        const float* gr = gy + (long long) r * d;
        float* out = gx + (long long) r * d;
        float mu = mean[r], rs = rstd[r];
        float sg = 0.f, sgh = 0.f;
        for (int j = threadIdx.x; j < d; j += blockDim.x) {
            float g = w ? gr[j] * w[j] : gr[j];
            float h = (xr[j] - mu) * rs;
            sg += g;
            sgh += g * h;
        }
        sg = block_sum(sg) / d;
        sgh = block_sum(sgh) / d;
        for (int j = threadIdx.x; j < d; j += blockDim.x) {
            float g = w ? gr[j] * w[j] : gr[j];
            float h = (xr[j] - mu) * rs;
            out[j] = rs * (g - sg - h * sgh);
        }
    }
}

// gw[j] += sum_r gy[r, j] * x̂[r, j] and gb[j] += sum_r gy[r, j] (either may be null). Thread per column, grid.y
// splits the rows into chunks whose partial sums meet through atomicAdd.
extern "C" __global__ void loupe_layer_norm_param_grads(const float* x, const float* mean, const float* rstd,
                                                        const float* gy, float* gw, float* gb, int rows, int d,
                                                        int rowsPerChunk) {
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= d) return;
    int r0 = blockIdx.y * rowsPerChunk, r1 = min(rows, r0 + rowsPerChunk);
    float sw = 0.f, sb = 0.f;
    for (int r = r0; r < r1; r++) {
        float g = gy[(long long) r * d + j];
        sw += g * (x[(long long) r * d + j] - mean[r]) * rstd[r];
        sb += g;
    }
    if (gw) atomicAdd(gw + j, sw);
    if (gb) atomicAdd(gb + j, sb);
}

// loss[r] = logsumexp(logits[r, :]) - logits[r, t] with t = targets[r]; a negative target (ignored) gives 0.
// logits: [rows, classes]; targets, loss: [rows].
extern "C" __global__ void loupe_cross_entropy(const float* logits, const float* targets, float* loss,
                                               int rows, int classes) {
    for (int r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* xr = logits + (long long) r * classes;
        float m = -INFINITY;
        for (int j = threadIdx.x; j < classes; j += blockDim.x) m = fmaxf(m, xr[j]);
        m = block_max(m);
        float s = 0.f;
        for (int j = threadIdx.x; j < classes; j += blockDim.x) s += expf(xr[j] - m);
        s = block_sum(s);
        if (threadIdx.x == 0) {
            int t = (int) targets[r];
            loss[r] = t < 0 ? 0.f : m + logf(s) - xr[t];
        }
    }
}

// glogits[r, :] = (softmax(logits[r, :]) - onehot(t)) * gloss[r]; zero for an ignored (negative) target.
extern "C" __global__ void loupe_cross_entropy_backward(const float* logits, const float* targets,
                                                        const float* gloss, float* glogits, int rows, int classes) {
    for (int r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* xr = logits + (long long) r * classes;
        float* gr = glogits + (long long) r * classes;
        int t = (int) targets[r];
        float m = -INFINITY;
        for (int j = threadIdx.x; j < classes; j += blockDim.x) m = fmaxf(m, xr[j]);
        m = block_max(m);
        float s = 0.f;
        for (int j = threadIdx.x; j < classes; j += blockDim.x) s += expf(xr[j] - m);
        s = block_sum(s);
        float gl = t < 0 ? 0.f : gloss[r], inv = 1.f / s;
        for (int j = threadIdx.x; j < classes; j += blockDim.x) {
            gr[j] = (expf(xr[j] - m) * inv - (j == t ? 1.f : 0.f)) * gl;
        }
    }
}

// One AdamW step in place over contiguous [n] arrays, operation for operation as the CPU's (dev.loupe.tensor
// .AdamWUpdate): every product, sum, quotient and square root rounded once (the _rn intrinsics stop nvcc from
// contracting them into FMAs), so a device step equals the CPU's bit for bit.
extern "C" __global__ void loupe_adamw(float* p, const float* g, float* m, float* v, long long n, float decay,
                                       float beta1, float beta2, float c1, float c2, float step_size,
                                       float bc2_sqrt, float eps) {
    LOUPE_FOR(i, n) {
        float gi = g[i];
        float mi = __fadd_rn(__fmul_rn(m[i], beta1), __fmul_rn(gi, c1));
        float vi = __fadd_rn(__fmul_rn(v[i], beta2), __fmul_rn(__fmul_rn(gi, gi), c2));
        m[i] = mi;
        v[i] = vi;
        float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), bc2_sqrt), eps);
        p[i] = __fsub_rn(__fmul_rn(p[i], decay), __fmul_rn(__fdiv_rn(mi, denom), step_size));
    }
}

// One SGD step in place (dev.loupe.tensor.SgdUpdate): fused where PyTorch's CPU kernel fuses, rounded once
// elsewhere. buf is null without momentum.
extern "C" __global__ void loupe_sgd(float* p, const float* g, float* buf, long long n, float lr, float wd,
                                     float mu, int nesterov, int first) {
    LOUPE_FOR(i, n) {
        float d = fmaf(wd, p[i], g[i]);
        if (buf != nullptr) {
            float b = first ? d : __fadd_rn(__fmul_rn(mu, buf[i]), d);
            buf[i] = b;
            d = nesterov ? fmaf(mu, b, d) : b;
        }
        p[i] = fmaf(-lr, d, p[i]);
    }
}
