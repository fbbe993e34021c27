package dev.loupe.transformer.gpt2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.Activation;
import dev.loupe.transformer.gpt2.Gpt2Config.AttentionKind;
import dev.loupe.transformer.gpt2.Gpt2Config.Family;
import dev.loupe.transformer.gpt2.Gpt2Config.Normalization;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * Small random models for specification tests. Weights are drawn at a scale where attention patterns are far from
 * uniform and LayerNorm weights and biases far from 1 and 0, so that a test of a hook or a folding cannot pass
 * because a weight is trivially the identity.
 */
final class TestModels {
    static final int VOCAB = 23, CTX = 12, D = 16, HEADS = 4, LAYERS = 2;

    private TestModels() {
    }

    /** GPT-2: 2 layers, d_model 16, 4 heads, vocab 23, n_ctx 12; tied unembedding. */
    static Gpt2Model gpt2(long seed) {
        return gpt2(seed, CTX);
    }

    /** As {@link #gpt2(long)} with context length {@code ctx}. */
    static Gpt2Model gpt2(long seed, int ctx) {
        Gpt2Config c = Gpt2Config.gpt2(LAYERS, D, HEADS, VOCAB, ctx);
        return new Gpt2Model(c, randomize(Gpt2Weights.init(c, new Rng(seed)), new Rng(seed + 1), true));
    }

    /** GPT-Neo-shaped: no attention scaling, no q/k/v bias, layer 1 local with window 3. */
    static Gpt2Model neo(long seed) {
        return neo(seed, 3);
    }

    static Gpt2Model neo(long seed, int window) {
        return neo(seed, window, CTX);
    }

    /** As {@link #neo(long)} with local window {@code window} and context length {@code ctx}. */
    static Gpt2Model neo(long seed, int window, int ctx) {
        Gpt2Config c = new Gpt2Config(Family.GPT_NEO, LAYERS, D, HEADS, D / HEADS, 4 * D, VOCAB, ctx, 1e-5f,
                Activation.GELU_TANH, false, false, List.of(AttentionKind.GLOBAL, AttentionKind.LOCAL), window,
                Normalization.LN);
        return new Gpt2Model(c, randomize(Gpt2Weights.init(c, new Rng(seed)), new Rng(seed + 1), false));
    }

    /**
     * Replaces every parameter of {@code w} with random values: matrices normal / √fan_in (embeddings at 1),
     * LayerNorm weights 1 + 0.3·normal, biases 0.2·normal. The unembedding stays tied to {@code wte}.
     */
    static Gpt2Weights randomize(Gpt2Weights w, Rng rng, boolean qkvBias) {
        UnaryOperator<Tensor> mat = t -> t == null ? null : Tensor.randn(rng, t.shape()).mul((float) (1 / Math.sqrt(t.size(0))));
        UnaryOperator<Tensor> gain = t -> t == null ? null : Tensor.randn(rng, t.shape()).mul(0.3f).add(1f);
        UnaryOperator<Tensor> bias = t -> t == null ? null : Tensor.randn(rng, t.shape()).mul(0.2f);
        List<Gpt2Weights.Block> blocks = new ArrayList<>();
        for (Gpt2Weights.Block b : w.blocks()) {
            blocks.add(new Gpt2Weights.Block(gain.apply(b.ln1W()), bias.apply(b.ln1B()), mat.apply(b.wQkv()),
                    qkvBias ? bias.apply(b.wQkv().select(0, 0)) : null, mat.apply(b.wO()), bias.apply(b.bO()),
                    gain.apply(b.ln2W()), bias.apply(b.ln2B()), mat.apply(b.wIn()), bias.apply(b.bIn()),
                    mat.apply(b.wOut()), bias.apply(b.bOut())));
        }
        Tensor wte = Tensor.randn(rng, w.wte().shape()), wpe = Tensor.randn(rng, w.wpe().shape());
        return new Gpt2Weights(w.nHeads(), wte, wpe, blocks, gain.apply(w.lnFinalW()), bias.apply(w.lnFinalB()),
                wte.transpose(0, 1), null);
    }

    /** A deep copy (fresh heap storage for every tensor), with the tie between wte and wU kept. */
    static Gpt2Weights copy(Gpt2Weights w) {
        List<Gpt2Weights.Block> blocks = new ArrayList<>();
        for (Gpt2Weights.Block b : w.blocks()) {
            blocks.add(new Gpt2Weights.Block(copy(b.ln1W()), copy(b.ln1B()), copy(b.wQkv()), copy(b.bQkv()),
                    copy(b.wO()), copy(b.bO()), copy(b.ln2W()), copy(b.ln2B()), copy(b.wIn()), copy(b.bIn()),
                    copy(b.wOut()), copy(b.bOut())));
        }
        Tensor wte = copy(w.wte());
        return new Gpt2Weights(w.nHeads(), wte, copy(w.wpe()), blocks, copy(w.lnFinalW()), copy(w.lnFinalB()),
                w.tied() ? wte.transpose(0, 1) : copy(w.wU()), copy(w.bU()));
    }

    static Tensor copy(Tensor t) {
        return t == null ? null : Tensor.of(t.toFloatArray(), t.shape());
    }

    /** {@code n} token ids in [0, VOCAB). */
    static int[] tokens(Rng rng, int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = rng.nextInt(VOCAB);
        return t;
    }

    /**
     * Element-wise |a - b| <= tol (absolute), same shape; a non-finite expected value (a masked score's -inf) must be
     * matched exactly. The message names the first bad index.
     */
    static void assertClose(Tensor expected, Tensor actual, double tol, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        float[] e = expected.toFloatArray(), a = actual.toFloatArray();
        for (int i = 0; i < e.length; i++) {
            boolean ok = Float.isFinite(e[i]) ? Math.abs(e[i] - a[i]) <= tol : Float.compare(e[i], a[i]) == 0;
            if (!ok) fail(what + ": element " + i + " expected " + e[i] + " but got " + a[i] + " (tol " + tol + ")");
        }
    }

    /**
     * {@link #assertClose} with the tolerance {@code rtol} times the largest finite |expected| (at least 1), so that
     * an infinity in the reference does not make the tolerance infinite.
     */
    static void assertCloseRel(Tensor expected, Tensor actual, double rtol, String what) {
        double max = 1;
        for (float v : expected.toFloatArray()) if (Float.isFinite(v)) max = Math.max(max, Math.abs(v));
        assertClose(expected, actual, rtol * max, what);
    }

    static void assertClose(double[] expected, Tensor actual, double tol, String what) {
        float[] a = actual.toFloatArray();
        assertEquals(expected.length, a.length, what + ": size");
        for (int i = 0; i < a.length; i++) {
            if (!(Math.abs(expected[i] - a[i]) <= tol)) {
                fail(what + ": element " + i + " expected " + expected[i] + " but got " + a[i] + " (tol " + tol + ")");
            }
        }
    }

    /** Bit-identical values and shape. */
    static void assertSame(Tensor expected, Tensor actual, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        assertArrayEquals(expected.toFloatArray(), actual.toFloatArray(), what);
    }
}
