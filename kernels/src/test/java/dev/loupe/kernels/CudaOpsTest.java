package dev.loupe.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.loupe.tensor.AdamWUpdate;
import dev.loupe.tensor.BinaryOp;
import dev.loupe.tensor.Rng;
import dev.loupe.tensor.SgdUpdate;
import dev.loupe.tensor.Tensor;
import dev.loupe.tensor.UnaryOp;
import dev.loupe.tensor.cpu.CpuBackend;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every CUDA primitive against the CPU backend on the same inputs, through the {@link Tensor} front end where it
 * reaches the primitive (so dispatch, views and broadcasting are covered too). Tolerances, relative to the largest
 * reference magnitude: 1e-5 for elementwise, reductions, softmax, LayerNorm and the exact FP32 GEMM; 1e-3 for TF32;
 * 1e-2 for BF16. Skipped, with the probe's reason, where there is no CUDA device.
 */
class CudaOpsTest {
    private static CudaBackend gpu;

    @BeforeAll
    static void device() {
        assumeTrue(Cuda.available(), () -> "no CUDA device: " + Cuda.unavailableReason());
        gpu = Cuda.backend();
    }

    private static Tensor up(Tensor t) {
        return t.to(gpu.device());
    }

    /** Asserts max |got − want| ≤ tol · max(1, max |want|). */
    private static void close(Tensor want, Tensor got, double tol, String what) {
        assertArrayEquals(want.shape(), got.shape(), what + ": shape");
        float[] w = want.toFloatArray(), g = got.toFloatArray();
        double scale = 1;
        for (float v : w) if (Float.isFinite(v)) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < w.length; i++) {
            if (Float.isNaN(w[i])) {
                assertTrue(Float.isNaN(g[i]), what + "[" + i + "]: want NaN, got " + g[i]);
            } else if (Float.isInfinite(w[i])) {
                assertEquals(w[i], g[i], what + "[" + i + "]");
            } else {
                assertEquals(w[i], g[i], tol * scale, what + "[" + i + "]");
            }
        }
    }

    /** f on the CPU and on the GPU (inputs uploaded) agree to {@code tol}. */
    private static void same(String what, double tol, java.util.function.Function<Tensor[], Tensor> f, Tensor... in) {
        Tensor[] dev = new Tensor[in.length];
        for (int i = 0; i < in.length; i++) dev[i] = up(in[i]);
        Tensor got = f.apply(dev);
        assertEquals(Cuda.device(), got.device(), what + " should stay on the device");
        close(f.apply(in), got, tol, what);
    }

    /**
     * The fused attention kernels against the CPU kernel, forward (1e-5) and all three gradients (1e-4: the CPU and the
     * GPU sum the long reductions in different orders): partial tiles (p, s not multiples of 32), s != p as with a KV
     * cache, q/k/v as strided views of one projection, causal + left-padding masks broadcast over the batch or not, a
     * head narrower than a warp's two columns, and a fully masked row (nan, as on the CPU). A 96-wide head exercises the
     * composite fallback.
     */
    @Test
    void attentionForwardAndBackwardMatchTheCpu() {
        Rng rng = new Rng(11);
        int[][] shapes = {{2, 37, 45, 3, 64}, {1, 64, 64, 2, 40}, {3, 5, 70, 2, 64}, {1, 33, 33, 1, 96}};
        for (int[] sh : shapes) {
            int b = sh[0], p = sh[1], s = sh[2], h = sh[3], d = sh[4];
            Tensor qkv = Tensor.randn(rng, b, s, 3, h, d);
            Tensor q = qkv.narrow(1, s - p, p).select(2, 0), k = qkv.select(2, 1), v = qkv.select(2, 2);
            float[] m = new float[b * p * s];
            for (int bi = 0; bi < b; bi++) {
                for (int i = 0; i < p; i++) {
                    for (int j = 0; j < s; j++) {
                        boolean ok = j <= s - p + i && !(bi == b - 1 && j < 3);
                        if (bi == 0 && i == p / 2 && s > 40) ok = false; // one fully masked row
                        m[(bi * p + i) * s + j] = ok ? 0f : Float.NEGATIVE_INFINITY;
                    }
                }
            }
            Tensor mask = Tensor.of(m, b, 1, p, s), causal = Tensor.of(m, b, 1, p, s).narrow(0, b - 1, 1);
            Tensor probe = Tensor.randn(rng, b, p, h, d);
            String what = "attention " + java.util.Arrays.toString(sh);
            for (Tensor mk : new Tensor[] {mask, causal, null}) {
                Tensor[] want = attentionGrads(q, k, v, mk, probe);
                Tensor[] got = attentionGrads(up(q), up(k), up(v), mk == null ? null : up(mk), up(probe));
                String[] names = {"out", "gq", "gk", "gv"};
                for (int i = 0; i < 4; i++) close(want[i], got[i], i == 0 ? 1e-5 : 1e-4, what + " " + names[i]);
            }
        }
    }

    /** attention(q, k, v, 0.125, mask) and the gradients of Σ probe ∘ it with respect to q, k, v. */
    private static Tensor[] attentionGrads(Tensor q, Tensor k, Tensor v, Tensor mask, Tensor probe) {
        Tensor[] leaves = {q.detach().setRequiresGrad(true), k.detach().setRequiresGrad(true),
                v.detach().setRequiresGrad(true)};
        Tensor out = Tensor.attention(leaves[0], leaves[1], leaves[2], 0.125f, mask);
        var g = dev.loupe.tensor.Autograd.grad(out.mul(probe).sum(), null, java.util.List.of(leaves), false);
        return new Tensor[] {out.detach(), g.get(0), g.get(1), g.get(2)};
    }

    @Test
    void unaryOpsOnStridedViewsMatchTheCpu() {
        Rng rng = new Rng(1);
        Tensor x = Tensor.randn(rng, 6, 33).mul(2f), pos = x.abs().add(0.1f);
        CpuBackend cpu = new CpuBackend();
        for (UnaryOp op : UnaryOp.values()) {
            Tensor in = switch (op) {
                case LOG, SQRT, RSQRT, POW_SCALAR -> pos;
                default -> x;
            };
            Tensor view = in.transpose(0, 1); // strided input
            Tensor want = Tensor.zeros(view.shape());
            cpu.unary(op, view, 1.5f, 2.5f, want);
            Tensor dv = up(in).transpose(0, 1);
            Tensor got = Tensor.fromStorage(gpu.allocate(view.numel()), view.shape(), want.strides(), 0);
            gpu.unary(op, dv, 1.5f, 2.5f, got);
            close(want, got, 1e-5, op.name());
        }
    }

    @Test
    void binaryOpsWithBroadcastingMatchTheCpu() {
        Rng rng = new Rng(2);
        Tensor a = Tensor.randn(rng, 4, 1, 7), b = Tensor.randn(rng, 3, 7).add(3f);
        CpuBackend cpu = new CpuBackend();
        for (BinaryOp op : BinaryOp.values()) {
            Tensor ea = a.expand(4, 3, 7), eb = b.expand(4, 3, 7);
            Tensor want = Tensor.zeros(4, 3, 7);
            cpu.binary(op, ea, eb, want);
            Tensor got = Tensor.fromStorage(gpu.allocate(84), new int[] {4, 3, 7}, want.strides(), 0);
            gpu.binary(op, up(a).expand(4, 3, 7), up(b).expand(4, 3, 7), got);
            close(want, got, 1e-5, op.name());
        }
        // gt(float) makes its threshold on the operand's device.
        same("where", 0, t -> Tensor.where(t[0].gt(0f), t[1], t[2]), Tensor.randn(rng, 5, 6),
                Tensor.randn(rng, 5, 6), Tensor.randn(rng, 1, 6));
    }

    @Test
    void copyFillReductionsAndArgReductionsMatchTheCpu() {
        Rng rng = new Rng(3);
        Tensor x = Tensor.randn(rng, 5, 300, 3);
        same("contiguous of a permuted view", 0, t -> t[0].permute(2, 0, 1).contiguous(), x);
        for (int dim = 0; dim < 3; dim++) {
            int d = dim;
            same("sum dim " + d, 1e-5, t -> t[0].sum(d, true), x);
            same("max dim " + d, 0, t -> t[0].max(d, true), x);
            same("min dim " + d, 0, t -> t[0].min(d, true), x);
            same("argmax dim " + d, 0, t -> t[0].argmax(d, true), x);
        }
        Tensor f = up(Tensor.zeros(3, 4)).fill(2.5f);
        close(Tensor.full(2.5f, 3, 4), f, 0, "fill");
    }

    @Test
    void softmaxLayerNormAndTheirGradientsMatchTheCpu() {
        Rng rng = new Rng(4);
        Tensor x = Tensor.randn(rng, 7, 1000).mul(3f), w = Tensor.randn(rng, 1000), b = Tensor.randn(rng, 1000);
        same("softmax", 1e-5, t -> t[0].softmax(1), x);
        same("logSoftmax", 1e-5, t -> t[0].logSoftmax(1), x);
        same("layerNorm", 1e-5, t -> t[0].layerNorm(t[1], t[2], 1e-5f), x, w, b);
        Tensor gy = Tensor.randn(rng, 7, 1000);
        for (String op : new String[] {"softmax", "logSoftmax", "layerNorm"}) {
            Tensor[] cpuGrads = grads(op, x, w, b, gy, false);
            Tensor[] gpuGrads = grads(op, x, w, b, gy, true);
            for (int i = 0; i < cpuGrads.length; i++) close(cpuGrads[i], gpuGrads[i], 1e-4, op + " grad " + i);
        }
    }

    /** Gradients of x, w, b (as far as {@code op} has them) for d loss / d out = gy, on the CPU or the GPU. */
    private static Tensor[] grads(String op, Tensor x, Tensor w, Tensor b, Tensor gy, boolean onGpu) {
        UnaryOperator<Tensor> place = t -> onGpu ? up(t) : t.detach();
        Tensor px = place.apply(x).setRequiresGrad(true), pw = place.apply(w).setRequiresGrad(true),
                pb = place.apply(b).setRequiresGrad(true);
        Tensor out = switch (op) {
            case "softmax" -> px.softmax(1);
            case "logSoftmax" -> px.logSoftmax(1);
            default -> px.layerNorm(pw, pb, 1e-5f);
        };
        out.backward(place.apply(gy));
        return op.equals("layerNorm") ? new Tensor[] {px.grad(), pw.grad(), pb.grad()} : new Tensor[] {px.grad()};
    }

    @Test
    void fusedCausalSoftmaxMatchesScaleMaskAndSoftmaxOnTheCpu() {
        Rng rng = new Rng(5);
        int q = 6, k = 9; // three earlier positions (a KV cache)
        Tensor x = Tensor.randn(rng, 2, 3, q, k);
        float scale = 0.125f;
        float[] mask = new float[q * k];
        for (int i = 0; i < q; i++) for (int j = 0; j < k; j++) mask[i * k + j] = j <= i + k - q ? 0f : Float.NEGATIVE_INFINITY;
        Tensor want = x.mul(scale).add(Tensor.of(mask, q, k)).softmax(3);
        Tensor got = Tensor.fromStorage(gpu.allocate(x.numel()), x.shape(), want.strides(), 0);
        gpu.softmaxCausal(up(x), scale, got);
        close(want, got, 1e-5, "softmaxCausal");
    }

    @Test
    void indexOpsMatchTheCpu() {
        Rng rng = new Rng(6);
        Tensor table = Tensor.randn(rng, 50, 16), ids = Tensor.indices(3, 0, 49, 3, 7);
        same("embedding", 0, t -> Tensor.embedding(t[0], t[1]), table, ids);
        same("indexSelect dim 1", 0, t -> t[0].indexSelect(1, t[1]), table, Tensor.indices(15, 2, 2));
        Tensor src = Tensor.randn(rng, 4, 5), idx = Tensor.indices(new int[][] {{0, 1, 0, 2, 2}, {1, 1, 1, 0, 0},
                {2, 0, 1, 1, 0}, {0, 0, 0, 0, 0}});
        same("gather", 0, t -> t[0].gather(1, t[1]), Tensor.randn(rng, 4, 3), idx);
        same("scatterAdd", 1e-6, t -> t[0].scatterAdd(1, t[1], t[2]), Tensor.randn(rng, 4, 3), idx, src);
        same("topK values", 0, t -> t[0].topK(5, 1, true).values(), Tensor.randn(rng, 3, 200));
        same("topK indices (smallest)", 0, t -> t[0].topK(5, 1, false).indices(), Tensor.randn(rng, 3, 200));
    }

    @Test
    void gemmMatchesTheCpuAtEachPrecisionThroughTransposedAndBatchedViews() {
        Rng rng = new Rng(7);
        Tensor a = Tensor.randn(rng, 3, 4, 70, 129), b = Tensor.randn(rng, 4, 129, 65); // b broadcast over dim 0
        Tensor want = a.matmul(b);
        Tensor wantT = a.transpose(2, 3).contiguous().transpose(2, 3).matmul(b);
        double[] tol = {1e-5, 1e-3, 1e-2};
        for (MatmulPrecision p : MatmulPrecision.values()) {
            gpu.matmulPrecision(p);
            try {
                close(want, up(a).matmul(up(b)), tol[p.ordinal()], "matmul " + p);
                Tensor at = up(a.transpose(2, 3).contiguous()).transpose(2, 3); // column-major a
                close(wantT, at.matmul(up(b)), tol[p.ordinal()], "matmul " + p + " (transposed a)");
            } finally {
                gpu.matmulPrecision(MatmulPrecision.FP32);
            }
        }
    }

    @Test
    void crossEntropyAndAdamWKernelsMatchTheirDefinitions() {
        Rng rng = new Rng(8);
        int n = 6, c = 1000;
        Tensor logits = Tensor.randn(rng, n, c).mul(2f), targets = Tensor.indices(5, 999, 0, -1, 17, 3);
        Tensor lsm = logits.logSoftmax(1);
        Tensor loss = Tensor.fromStorage(gpu.allocate(n), new int[] {n}, new int[] {1}, 0);
        gpu.crossEntropy(up(logits), up(targets), loss);
        float[] l = loss.toFloatArray(), t = targets.toFloatArray();
        for (int i = 0; i < n; i++) {
            assertEquals(t[i] < 0 ? 0f : -lsm.get(i, (int) t[i]), l[i], 1e-4, "loss row " + i);
        }
        Tensor gloss = Tensor.randn(rng, n), g = Tensor.fromStorage(gpu.allocate(n * c), new int[] {n, c},
                new int[] {c, 1}, 0);
        gpu.crossEntropyBackward(up(logits), up(targets), up(gloss), g);
        Tensor sm = logits.softmax(1);
        float[] gg = g.toFloatArray();
        for (int i = 0; i < n; i++) for (int j = 0; j < c; j++) {
            double want = t[i] < 0 ? 0 : (sm.get(i, j) - (j == (int) t[i] ? 1 : 0)) * gloss.get(i);
            assertEquals(want, gg[i * c + j], 1e-5, "glogits[" + i + ", " + j + "]");
        }
        // AdamW, one step, against torch.optim.AdamW's formula in double precision.
        Tensor p = Tensor.randn(rng, 1000), grad = Tensor.randn(rng, 1000), m = Tensor.randn(rng, 1000).mul(0.1f),
                v = Tensor.rand(rng, 1000).mul(0.01f);
        Tensor dp = up(p), dm = up(m), dv = up(v);
        AdamWUpdate u = AdamWUpdate.of(1e-3, 0.9, 0.95, 1e-8, 0.1f, 3);
        gpu.adamW(dp, up(grad), dm, dv, u);
        float[] pp = dp.toFloatArray();
        // ... and bit for bit against the CPU's kernel (the same float32 operations, each rounded once).
        Tensor cp = p.contiguous().mul(1f), cm = m.mul(1f), cv = v.mul(1f);
        new CpuBackend().adamW(cp, grad, cm, cv, u);
        assertArrayEquals(cp.toFloatArray(), pp, "AdamW on the device vs the CPU");
        assertArrayEquals(cm.toFloatArray(), dm.toFloatArray(), "AdamW's first moment on the device vs the CPU");
        assertArrayEquals(cv.toFloatArray(), dv.toFloatArray(), "AdamW's second moment on the device vs the CPU");
        for (int i = 0; i < 1000; i++) {
            double gi = grad.get(i), mi = 0.9 * m.get(i) + 0.1 * gi, vi = 0.95 * v.get(i) + 0.05 * gi * gi;
            double want = p.get(i) * (1 - 1e-3 * 0.1)
                    - 1e-3 * (mi / (1 - Math.pow(0.9, 3))) / (Math.sqrt(vi / (1 - Math.pow(0.95, 3))) + 1e-8);
            assertEquals(want, pp[i], 1e-5 * Math.max(1, Math.abs(want)), "param " + i);
        }
    }

    @Test
    void sgdStepsEqualTheCpuBitForBit() {
        Rng rng = new Rng(31);
        int n = 1000;
        Tensor p = Tensor.randn(rng, n), grad = Tensor.randn(rng, n), buf = Tensor.randn(rng, n);
        for (boolean nesterov : new boolean[] {false, true}) {
            for (boolean first : new boolean[] {false, true}) {
                SgdUpdate u = new SgdUpdate(0.05f, 0.01f, 0.9f, nesterov, first);
                Tensor dp = up(p), db = up(buf), cp = p.mul(1f), cb = buf.mul(1f);
                gpu.sgd(dp, up(grad), db, u);
                new CpuBackend().sgd(cp, grad, cb, u);
                assertArrayEquals(cp.toFloatArray(), dp.toFloatArray(), "param, " + u);
                assertArrayEquals(cb.toFloatArray(), db.toFloatArray(), "momentum, " + u);
            }
        }
        SgdUpdate plain = new SgdUpdate(0.05f, 0f, 0f, false, false);
        Tensor dp = up(p), cp = p.mul(1f);
        gpu.sgd(dp, up(grad), null, plain);
        new CpuBackend().sgd(cp, grad, null, plain);
        assertArrayEquals(cp.toFloatArray(), dp.toFloatArray(), "param without momentum");
    }
}
