package dev.loupe.transformer.gpt2;

import dev.loupe.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * TransformerLens's weight processing for GPT-2-family models: rewrites of the weights that leave the model's output
 * distribution unchanged but make its internals easier to read (LayerNorm folded into the weights that read from it,
 * a residual stream with zero mean, value biases moved into b_O).
 *
 * <p>Every method returns a new model whose weights are fresh heap copies; the input model's weights are never
 * written, and a mapped input may be closed afterwards. The result's weights do not require gradients (call
 * {@link Gpt2Weights#requireGrad()} on them to train or take parameter gradients). Shapes below: m = d_model,
 * n = the width a weight writes (3·d_model, d_mlp or d_vocab), h = heads, d = d_head.
 *
 * <p>Centering the residual writers relies on every reader of the residual stream being a LayerNorm, which subtracts
 * the per-position mean anyway; that holds for every GPT-2-family model.
 */
public final class WeightProcessing {
    private WeightProcessing() {
    }

    /**
     * Which steps {@link #process} applies. They run in TransformerLens's order: fold LayerNorm, center writing
     * weights, center the unembedding, fold value biases.
     *
     * @param foldLayerNorm        {@link #foldLayerNorm}
     * @param centerWritingWeights {@link #centerWritingWeights}
     * @param centerUnembed        {@link #centerUnembed}
     * @param foldValueBiases      {@link #foldValueBiases}
     */
    public record Options(boolean foldLayerNorm, boolean centerWritingWeights, boolean centerUnembed,
                          boolean foldValueBiases) {
        /** TransformerLens's {@code from_pretrained} defaults: every step on. */
        public static Options defaults() {
            return new Options(true, true, true, true);
        }
    }

    /** A new model with the steps {@code options} selects applied to a copy of {@code model}'s weights. */
    public static Gpt2Model process(Gpt2Model model, Options options) {
        Parts p = new Parts(model);
        if (options.foldLayerNorm()) p.foldLayerNorm();
        if (options.centerWritingWeights()) p.centerWritingWeights();
        if (options.centerUnembed()) p.centerUnembed();
        if (options.foldValueBiases()) p.foldValueBiases();
        return p.build();
    }

    /**
     * Folds each LayerNorm's weight w [m] and bias b [m] into the weights W [m, n] and bias β [n] that read its
     * output: W ← diag(w)·W, β ← β + b·W (ln1 into W_Q/W_K/W_V and b_QKV, created when absent; ln2 into W_in and b_in;
     * ln_final into W_U and b_U, untying W_U from W_E). Then centers each such W along d_model (subtracts its mean
     * over rows), which changes nothing because it multiplies a zero-mean normalized input. The result's config has
     * {@link Gpt2Config.Normalization#LN_PRE} and null LayerNorm weights and biases.
     *
     * <p>Preserved: logits (to rounding) and every activation, except that {@code ln*.hook_normalized} is now the
     * plain (x − mean) / scale and q, k, v, pre-activations and logits come from the folded weights.
     */
    public static Gpt2Model foldLayerNorm(Gpt2Model model) {
        return process(model, new Options(true, false, false, false));
    }

    /**
     * Subtracts the mean over d_model from everything that writes to the residual stream: W_E [vocab, m] and
     * W_pos [ctx, m] (per row), W_O [m, m] and W_out [d_mlp, m] (per row), b_O and b_out [m]. A tied W_U is untied
     * first (it keeps the uncentered values). Every residual activation becomes its per-position mean-free version;
     * LayerNorm outputs, attention, MLP activations and logits are unchanged (to rounding).
     */
    public static Gpt2Model centerWritingWeights(Gpt2Model model) {
        return process(model, new Options(false, true, false, false));
    }

    /**
     * Subtracts from W_U [m, vocab] its mean over the vocabulary (per d_model row) and from b_U [vocab] its mean,
     * untying W_U from W_E. Logits shift by a per-position constant (their mean over the vocabulary becomes 0), so
     * log-probabilities are unchanged.
     */
    public static Gpt2Model centerUnembed(Gpt2Model model) {
        return process(model, new Options(false, false, true, false));
    }

    /**
     * Moves the value biases into the output bias: b_O += Σ_h b_V[h] · W_O[h] ([d] · [d, m]) and b_V = 0. Exact for
     * every real query position because each attention pattern row sums to 1; padding query rows (whose pattern is
     * all zero) now output b_O + Σ_h b_V[h]·W_O[h] instead of b_O. Changes hook_v and hook_z by the bias; hook_attn_out
     * and everything after are unchanged. A model without q/k/v biases is copied unchanged.
     */
    public static Gpt2Model foldValueBiases(Gpt2Model model) {
        return process(model, new Options(false, false, false, true));
    }

    /** Mutable heap copies of a model's weights, rewritten step by step; {@code wU == null} while tied to wte. */
    private static final class Parts {
        private Gpt2Config config;
        private final int nHeads;
        private Tensor wte, wpe, lnFinalW, lnFinalB, wU, bU;
        private final List<Tensor[]> blocks = new ArrayList<>(); // Block's components in record order

        Parts(Gpt2Model model) {
            Gpt2Weights w = model.weights();
            config = model.config();
            nHeads = w.nHeads();
            wte = copy(w.wte());
            wpe = copy(w.wpe());
            lnFinalW = copy(w.lnFinalW());
            lnFinalB = copy(w.lnFinalB());
            wU = w.tied() ? null : copy(w.wU());
            bU = copy(w.bU());
            for (Gpt2Weights.Block b : w.blocks()) {
                blocks.add(new Tensor[] {copy(b.ln1W()), copy(b.ln1B()), copy(b.wQkv()), copy(b.bQkv()), copy(b.wO()),
                        copy(b.bO()), copy(b.ln2W()), copy(b.ln2B()), copy(b.wIn()), copy(b.bIn()), copy(b.wOut()),
                        copy(b.bOut())});
            }
        }

        private static final int LN1W = 0, LN1B = 1, WQKV = 2, BQKV = 3, WO = 4, BO = 5, LN2W = 6, LN2B = 7, WIN = 8,
                BIN = 9, WOUT = 10, BOUT = 11;

        void foldLayerNorm() {
            for (Tensor[] b : blocks) {
                Tensor[] qkv = fold(b[LN1W], b[LN1B], b[WQKV], b[BQKV]);
                b[WQKV] = qkv[0];
                b[BQKV] = qkv[1];
                b[LN1W] = b[LN1B] = null;
                if (b[WIN] != null) {
                    Tensor[] in = fold(b[LN2W], b[LN2B], b[WIN], b[BIN]);
                    b[WIN] = in[0];
                    b[BIN] = in[1];
                }
                b[LN2W] = b[LN2B] = null;
            }
            untie();
            Tensor[] u = fold(lnFinalW, lnFinalB, wU, bU);
            wU = u[0];
            bU = u[1];
            lnFinalW = lnFinalB = null;
            config = config.withNormalization(Gpt2Config.Normalization.LN_PRE);
        }

        /** W [m, n], bias [n] or null, read from LayerNorm(w [m], b [m]) → {centered diag(w)·W, bias + b·W}. */
        private static Tensor[] fold(Tensor w, Tensor b, Tensor weight, Tensor bias) {
            Tensor newBias = bias == null ? Tensor.zeros(weight.size(1)) : bias;
            if (b != null) newBias = newBias.add(b.unsqueeze(0).matmul(weight).squeeze(0));
            Tensor scaled = w == null ? weight : weight.mul(w.unsqueeze(1));
            return new Tensor[] {scaled.sub(scaled.mean(0, true)), newBias};
        }

        void centerWritingWeights() {
            untie();
            wte = centerLastDim(wte);
            wpe = centerLastDim(wpe);
            for (Tensor[] b : blocks) {
                for (int i : new int[] {WO, BO, WOUT, BOUT}) b[i] = centerLastDim(b[i]);
            }
        }

        void centerUnembed() {
            untie();
            wU = centerLastDim(wU);
            bU = centerLastDim(bU);
        }

        void foldValueBiases() {
            int m = config.dModel();
            for (Tensor[] b : blocks) {
                if (b[BQKV] == null) continue;
                Tensor bV = b[BQKV].narrow(0, 2 * m, m); // (head, d_head) order, as W_O's rows
                b[BO] = b[BO].add(bV.unsqueeze(0).matmul(b[WO]).squeeze(0));
                b[BQKV] = Tensor.cat(0, b[BQKV].narrow(0, 0, 2 * m), Tensor.zeros(m));
            }
        }

        private void untie() {
            if (wU == null) wU = copy(wte.transpose(0, 1));
        }

        private static Tensor centerLastDim(Tensor t) {
            return t == null ? null : t.sub(t.mean(-1, true));
        }

        Gpt2Model build() {
            List<Gpt2Weights.Block> out = new ArrayList<>();
            for (Tensor[] b : blocks) {
                out.add(new Gpt2Weights.Block(b[LN1W], b[LN1B], b[WQKV], b[BQKV], b[WO], b[BO], b[LN2W], b[LN2B],
                        b[WIN], b[BIN], b[WOUT], b[BOUT]));
            }
            Tensor unembed = wU == null ? wte.transpose(0, 1) : wU;
            return new Gpt2Model(config, new Gpt2Weights(nHeads, wte, wpe, out, lnFinalW, lnFinalB, unembed, bU));
        }

        /** A contiguous heap copy that shares nothing with {@code t} and records no graph. */
        private static Tensor copy(Tensor t) {
            return t == null ? null : Tensor.wrap(t.toFloatArray(), t.shape());
        }
    }
}
