package dev.loupe.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every GEMM kernel against a double-precision product on the host: the 128x128 cp.async kernels in all four operand
 * layouts (sizes that are not multiples of the tile, k not a multiple of 16, a batch with a broadcast operand,
 * accumulation through a gradient), the 64x64 fallbacks for misaligned shapes, and cuBLAS where it loads. Tolerance,
 * relative to sqrt(k) times the operands' scale: 1e-5 (FP32), 2e-3 (TF32), 1.6e-2 (BF16). Skipped without a device.
 */
class CudaGemmTest {
    private static CudaBackend gpu;

    @BeforeAll
    static void device() {
        assumeTrue(Cuda.available(), () -> "no CUDA device: " + Cuda.unavailableReason());
        gpu = Cuda.backend();
        gpu.gemmEngine(GemmEngine.LOUPE); // our kernels, whatever loupe.cuda.gemm says
    }

    @AfterAll
    static void restore() {
        if (gpu != null) gpu.gemmEngine(GemmEngine.fromSystemProperty());
    }

    private static final double[] TOL = {1e-5, 2e-3, 1.6e-2};

    /** a [batch, m, k] @ b [batch, k, n] in double precision. */
    private static double[] reference(Tensor a, Tensor b) {
        int batch = a.size(0), m = a.size(1), k = a.size(2), n = b.size(2);
        double[] out = new double[batch * m * n];
        for (int z = 0; z < batch; z++) for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) {
            double s = 0;
            for (int l = 0; l < k; l++) s += (double) a.get(z, i, l) * b.get(z, l, j);
            out[(z * m + i) * n + j] = s;
        }
        return out;
    }

    private static void check(double[] want, Tensor got, int k, MatmulPrecision p, String what) {
        float[] g = got.to(dev.loupe.tensor.Device.CPU).toFloatArray();
        assertEquals(want.length, g.length, what);
        double tol = TOL[p.ordinal()] * Math.sqrt(k);
        for (int i = 0; i < want.length; i++) assertEquals(want[i], g[i], tol, what + " [" + i + "]");
    }

    /** The product in each of the four layouts (a and b stored row- or column-major), at one precision. */
    private static void allLayouts(int batch, int m, int n, int k, MatmulPrecision p, long seed) {
        Rng rng = new Rng(seed);
        Tensor a = Tensor.randn(rng, batch, m, k), b = Tensor.randn(rng, batch, k, n);
        double[] want = reference(a, b);
        Tensor ar = a.to(gpu.device()), br = b.to(gpu.device());
        Tensor ac = a.transpose(1, 2).contiguous().to(gpu.device()).transpose(1, 2);
        Tensor bc = b.transpose(1, 2).contiguous().to(gpu.device()).transpose(1, 2);
        String shape = p + " " + batch + "x" + m + "x" + n + "x" + k;
        check(want, ar.matmul(br), k, p, "rr " + shape);
        check(want, ar.matmul(bc), k, p, "rc " + shape);
        check(want, ac.matmul(br), k, p, "cr " + shape);
        check(want, ac.matmul(bc), k, p, "cc " + shape);
    }

    @Test
    void largeTileKernelsMatchADoubleProductInEveryLayout() {
        for (MatmulPrecision p : MatmulPrecision.values()) {
            gpu.matmulPrecision(p);
            try {
                allLayouts(1, 256, 384, 96, p, 1);   // whole tiles
                allLayouts(2, 200, 132, 52, p, 2);   // ragged m, n; k not a multiple of 16
                allLayouts(1, 130, 260, 4, p, 3);    // one short k step
                allLayouts(1, 129, 131, 33, p, 4);   // misaligned: the 64x64 kernels
            } finally {
                gpu.matmulPrecision(MatmulPrecision.FP32);
            }
        }
    }

    @Test
    void broadcastBatchAndAccumulatingGradientsMatch() {
        Rng rng = new Rng(5);
        for (MatmulPrecision p : MatmulPrecision.values()) {
            gpu.matmulPrecision(p);
            try {
                Tensor x = Tensor.randn(rng, 3, 160, 64), w = Tensor.randn(rng, 64, 144);
                Tensor dx = x.to(gpu.device()).setRequiresGrad(true), dw = w.to(gpu.device()).setRequiresGrad(true);
                Tensor y = dx.matmul(dw); // w broadcast over the batch
                Tensor wb = w.unsqueeze(0).expand(3, 64, 144).contiguous();
                check(reference(x, wb), y, 64, p, "x @ w, " + p);
                Tensor gy = Tensor.randn(rng, 3, 160, 144);
                y.backward(gy.to(gpu.device()));
                // dW = Σ_batch xᵀ · gy (column-major a, summed over the batch), dX = gy · wᵀ (column-major b).
                double[] dwWant = new double[64 * 144];
                for (int z = 0; z < 3; z++) {
                    double[] part = reference(x.select(0, z).transpose(0, 1).unsqueeze(0), gy.select(0, z).unsqueeze(0));
                    for (int i = 0; i < part.length; i++) dwWant[i] += part[i];
                }
                check(dwWant, dw.grad(), 3 * 160, p, "dW, " + p);
                check(reference(gy, w.transpose(0, 1).unsqueeze(0).expand(3, 144, 64).contiguous()), dx.grad(), 144, p,
                        "dX, " + p);
            } finally {
                gpu.matmulPrecision(MatmulPrecision.FP32);
            }
        }
    }

    @Test
    void cublasAgreesWhereItLoads() {
        gpu.gemmEngine(GemmEngine.AUTO);
        assumeTrue(gpu.usesCublas(), gpu::gemmDescription);
        try {
            for (MatmulPrecision p : MatmulPrecision.values()) {
                gpu.matmulPrecision(p);
                allLayouts(2, 200, 132, 52, p, 6);
                allLayouts(1, 129, 131, 33, p, 7);
            }
        } finally {
            gpu.matmulPrecision(MatmulPrecision.FP32);
            gpu.gemmEngine(GemmEngine.LOUPE);
        }
    }
}
