package dev.loupe.tensor.cpu;

import dev.loupe.tensor.Tensor;

/** Triple-loop batched matmul in double precision: the reference the fast GEMM is tested against. */
final class NaiveMatmul {
    private NaiveMatmul() {
    }

    /** a [batch..., m, k] @ b [batch..., k, n] into out [batch..., m, n], any strides. */
    static void matmul(Tensor a, Tensor b, Tensor out, boolean accumulate) {
        float[] x = Rows.array(a), w = Rows.array(b), y = Rows.array(out);
        int[] sh = out.shape();
        int r = sh.length, m = sh[r - 2], n = sh[r - 1], k = a.shape()[r - 1];
        int[] as = a.strides(), bs = b.strides(), os = out.strides();
        int batch = 1;
        for (int i = 0; i < r - 2; i++) batch *= sh[i];
        for (int bi = 0; bi < batch; bi++) {
            int ao = a.offset(), bo = b.offset(), oo = out.offset(), rem = bi;
            for (int d = r - 3; d >= 0; d--) {
                int idx = rem % sh[d];
                rem /= sh[d];
                ao += idx * as[d];
                bo += idx * bs[d];
                oo += idx * os[d];
            }
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double acc = 0;
                    for (int p = 0; p < k; p++) {
                        acc += (double) x[ao + i * as[r - 2] + p * as[r - 1]] * w[bo + p * bs[r - 2] + j * bs[r - 1]];
                    }
                    int o = oo + i * os[r - 2] + j * os[r - 1];
                    y[o] = accumulate ? y[o] + (float) acc : (float) acc;
                }
            }
        }
    }
}
