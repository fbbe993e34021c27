package dev.loupe.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * {@link Tensor#attention} against the composite ops it fuses (bit for bit: the kernel runs the same arithmetic) and,
 * independently, against a double-precision loop written from the definition; its gradient against finite
 * differences and against the gradient of the composite ops.
 */
class AttentionTest {
    private final Rng rng = new Rng(21);

    /** The composite path, as HookedAttention ran it before the fused op. */
    private static Tensor composite(Tensor q, Tensor k, Tensor v, float scale, Tensor mask) {
        Tensor scores = q.permute(0, 2, 1, 3).matmul(k.permute(0, 2, 3, 1)).mul(scale);
        if (mask != null) scores = scores.add(mask);
        return scores.softmax(-1).matmul(v.permute(0, 2, 1, 3)).permute(0, 2, 1, 3).contiguous();
    }

    /** softmax(q·kᵀ·scale + mask)·v in double, element by element. */
    private static double[] reference(Tensor q, Tensor k, Tensor v, float scale, Tensor mask) {
        int b = q.size(0), p = q.size(1), h = q.size(2), d = q.size(3), s = k.size(1);
        double[] out = new double[b * p * h * d];
        for (int bi = 0; bi < b; bi++) {
            for (int hi = 0; hi < h; hi++) {
                for (int i = 0; i < p; i++) {
                    double[] w = new double[s];
                    double max = Double.NEGATIVE_INFINITY, sum = 0;
                    for (int j = 0; j < s; j++) {
                        double dot = 0;
                        for (int e = 0; e < d; e++) dot += (double) q.get(bi, i, hi, e) * k.get(bi, j, hi, e);
                        w[j] = dot * scale + (mask == null ? 0 : mask.get(mask.size(0) == 1 ? 0 : bi, 0,
                                mask.size(2) == 1 ? 0 : i, j));
                        max = Math.max(max, w[j]);
                    }
                    for (int j = 0; j < s; j++) sum += w[j] = Math.exp(w[j] - max);
                    for (int e = 0; e < d; e++) {
                        double z = 0;
                        for (int j = 0; j < s; j++) z += w[j] / sum * v.get(bi, j, hi, e);
                        out[((bi * p + i) * h + hi) * d + e] = z;
                    }
                }
            }
        }
        return out;
    }

    private void check(Tensor q, Tensor k, Tensor v, float scale, Tensor mask, String what) {
        Tensor fused = Tensor.attention(q, k, v, scale, mask);
        assertArrayEquals(composite(q, k, v, scale, mask).toFloatArray(), fused.toFloatArray(), what + ": vs composite");
        double[] ref = reference(q, k, v, scale, mask);
        float[] got = fused.toFloatArray();
        for (int i = 0; i < ref.length; i++) {
            assertTrue(Math.abs(got[i] - ref[i]) <= 1e-5 * (1 + Math.abs(ref[i])), what + " at " + i + ": " + got[i]
                    + " vs " + ref[i]);
        }
    }

    @Test
    void matchesTheCompositeOpsAndADoublePrecisionReference() {
        int b = 2, p = 5, s = 7, h = 3, d = 4;
        check(Tensor.randn(rng, b, p, h, d), Tensor.randn(rng, b, s, h, d), Tensor.randn(rng, b, s, h, d), 0.5f, null,
                "plain");
        // Q, K, V as strided views of one fused projection [b, p, 3, h, d], as BERT's forward produces them.
        Tensor qkv = Tensor.randn(rng, b, p, 3, h, d);
        check(qkv.select(2, 0), qkv.select(2, 1), qkv.select(2, 2), 1f, null, "views of a fused projection");
        // A key-padding mask [b, 1, 1, s] (the last key of batch 1 masked) and a causal one [1, 1, p, p].
        float[] pad = new float[b * p];
        pad[2 * p - 1] = Float.NEGATIVE_INFINITY;
        Tensor keyMask = Tensor.of(pad, b, 1, 1, p);
        check(qkv.select(2, 0), qkv.select(2, 1), qkv.select(2, 2), 0.3f, keyMask, "key mask");
        float[] causal = new float[p * p];
        for (int i = 0; i < p; i++) for (int j = i + 1; j < p; j++) causal[i * p + j] = Float.NEGATIVE_INFINITY;
        check(qkv.select(2, 0), qkv.select(2, 1), qkv.select(2, 2), 0.3f, Tensor.of(causal, 1, 1, p, p), "causal");
        // Large enough for the packed GEMM path (64 positions, d_head 32), as MiniLM's heads are.
        Tensor big = Tensor.randn(rng, 1, 64, 3, 2, 32);
        check(big.select(2, 0), big.select(2, 1), big.select(2, 2), 0.17f, null, "packed path");
    }

    @Test
    void gradientMatchesFiniteDifferences() {
        Tensor mask = Tensor.of(new float[] {0, 0, Float.NEGATIVE_INFINITY, 0}, 1, 1, 1, 4);
        GradCheck.check(x -> Tensor.attention(x[0], x[1], x[2], 0.7f, mask), Tensor.randn(rng, 1, 3, 2, 2),
                Tensor.randn(rng, 1, 4, 2, 2), Tensor.randn(rng, 1, 4, 2, 2));
    }

    /**
     * The fused backward against the gradient of the composite ops (scores, softmax, product, each with its own
     * recorded backward): causal and padding masks, a KV cache's s != p with strided views, several row blocks.
     */
    @Test
    void gradientMatchesTheCompositeOps() {
        int b = 2, p = 5, s = 9, h = 3, d = 4;
        // Causal over a cache of s - p earlier keys, with the first two keys of batch 1 padded away (left padding).
        float[] m = new float[b * p * s];
        for (int bi = 0; bi < b; bi++) {
            for (int i = 0; i < p; i++) {
                for (int j = 0; j < s; j++) {
                    boolean ok = j <= s - p + i && !(bi == 1 && j < 2);
                    m[(bi * p + i) * s + j] = ok ? 0f : Float.NEGATIVE_INFINITY;
                }
            }
        }
        Tensor qkv = Tensor.randn(rng, b, s, 3, h, d);
        gradCheckAgainstComposite(qkv.narrow(1, s - p, p).select(2, 0), qkv.select(2, 1), qkv.select(2, 2), 0.5f,
                Tensor.of(m, b, 1, p, s), 1e-5);
        gradCheckAgainstComposite(Tensor.randn(rng, b, p, h, d), Tensor.randn(rng, b, s, h, d),
                Tensor.randn(rng, b, s, h, d), 1f, null, 1e-5);
        // 300 queries × 400 keys exceed one scratch tile: the kernel runs several row blocks and accumulates gk, gv.
        int bp = 300, bs = 400;
        float[] causal = new float[bp * bs];
        for (int i = 0; i < bp; i++) for (int j = bs - bp + i + 1; j < bs; j++) causal[i * bs + j] = Float.NEGATIVE_INFINITY;
        gradCheckAgainstComposite(Tensor.randn(rng, 1, bp, 2, 8), Tensor.randn(rng, 1, bs, 2, 8),
                Tensor.randn(rng, 1, bs, 2, 8), 0.35f, Tensor.of(causal, 1, 1, bp, bs), 1e-5);
    }

    /** A fully masked query row gives nan in the output and in the gradients it reaches, as the composite does. */
    @Test
    void aFullyMaskedRowGivesNanLikeTheComposite() {
        int p = 3, s = 4;
        float[] m = new float[p * s];
        for (int j = 0; j < s; j++) m[s + j] = Float.NEGATIVE_INFINITY; // query 1 sees no key
        Tensor mask = Tensor.of(m, 1, 1, p, s);
        Tensor q = Tensor.randn(rng, 1, p, 2, 3), k = Tensor.randn(rng, 1, s, 2, 3), v = Tensor.randn(rng, 1, s, 2, 3);
        float[] out = Tensor.attention(q, k, v, 1f, mask).toFloatArray();
        for (int i = 0; i < out.length; i++) assertEquals(i / 6 == 1, Float.isNaN(out[i]), "output at " + i);
        gradCheckAgainstComposite(q, k, v, 1f, mask, 1e-5);
    }

    @Test
    void aMaskThatRequiresAGradientIsRefused() {
        Tensor q = Tensor.randn(rng, 1, 2, 1, 2).setRequiresGrad(true);
        Tensor mask = Tensor.zeros(1, 1, 2, 2).setRequiresGrad(true);
        var e = assertThrows(IllegalArgumentException.class, () -> Tensor.attention(q, q, q, 1f, mask));
        assertTrue(e.getMessage().contains("additive constant"), e.getMessage());
        try (var off = Autograd.noGrad()) {
            assertEquals(4, Tensor.attention(q, q, q, 1f, mask).numel()); // nothing is recorded: nothing to refuse
        }
    }

    /**
     * Gradients of Σ r ∘ attention(q, k, v) for a random r, fused against composite, within {@code tol} of each
     * tensor's largest composite gradient; nan exactly where the composite has nan.
     */
    private void gradCheckAgainstComposite(Tensor q, Tensor k, Tensor v, float scale, Tensor mask, double tol) {
        Tensor probe = Tensor.randn(rng, q.shape());
        Tensor[] fused = grads(x -> Tensor.attention(x[0], x[1], x[2], scale, mask), probe, q, k, v);
        Tensor[] reference = grads(x -> composite(x[0], x[1], x[2], scale, mask), probe, q, k, v);
        String[] names = {"q", "k", "v"};
        for (int t = 0; t < 3; t++) {
            float[] e = reference[t].toFloatArray(), a = fused[t].toFloatArray();
            double max = 0;
            for (float x : e) if (!Float.isNaN(x)) max = Math.max(max, Math.abs(x));
            for (int i = 0; i < e.length; i++) {
                if (Float.isNaN(e[i])) {
                    assertTrue(Float.isNaN(a[i]), names[t] + " gradient at " + i + " should be nan but is " + a[i]);
                } else {
                    assertEquals(e[i], a[i], tol * Math.max(1, max), names[t] + " gradient at " + i);
                }
            }
        }
    }

    private static Tensor[] grads(java.util.function.Function<Tensor[], Tensor> f, Tensor probe, Tensor... inputs) {
        Tensor[] leaves = new Tensor[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            leaves[i] = inputs[i].detach().setRequiresGrad(true); // a view keeps its strides: the kernel sees them
        }
        var g = Autograd.grad(f.apply(leaves).mul(probe).sum(), null, java.util.List.of(leaves), false);
        return g.toArray(new Tensor[0]);
    }

    @Test
    void mismatchedShapesAreRefusedWithTheShapes() {
        Tensor q = Tensor.zeros(1, 3, 2, 4), k = Tensor.zeros(1, 5, 2, 4);
        var e = assertThrows(IllegalArgumentException.class, () -> Tensor.attention(q, k, Tensor.zeros(1, 5, 2, 3), 1f,
                null));
        assertTrue(e.getMessage().contains("[1, 5, 2, 3]"), e.getMessage());
        var m = assertThrows(IllegalArgumentException.class, () -> Tensor.attention(q, k, k, 1f, Tensor.zeros(1, 1, 2,
                5)));
        assertTrue(m.getMessage().contains("mask"), m.getMessage());
    }
}
