package dev.loupe.transformer.gpt2;

import static dev.loupe.transformer.ModelWeights.move;

import dev.loupe.tensor.Device;
import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.ModelWeights;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The parameters of a GPT-2-family model, in one layout for every family: matrices are [in, out] (x @ W), and each
 * block's query, key and value weights are one fused [d_model, 3·d_model] matrix whose columns run (q|k|v, head,
 * d_head). TransformerLens's per-head tensors ({@link #wQ}, {@link #wO} ...) are views into these, not copies, so a
 * gradient or an edit through either reaches the same numbers.
 *
 * <p>Nullable entries: {@code bQkv} (GPT-Neo has no q/k/v bias until LayerNorm folding makes one), LayerNorm weights
 * and biases (after folding), the whole MLP of attention-only models, and {@code bU}.
 *
 * @param nHeads   attention heads per block (for the per-head views)
 * @param wte      token embedding [d_vocab, d_model]
 * @param wpe      position embedding [n_ctx, d_model]
 * @param blocks   one per layer
 * @param lnFinalW final LayerNorm weight [d_model]
 * @param lnFinalB final LayerNorm bias [d_model]
 * @param wU       unembedding [d_model, d_vocab]; a transposed view of {@code wte} when tied
 * @param bU       unembedding bias [d_vocab] or null
 */
public record Gpt2Weights(int nHeads, Tensor wte, Tensor wpe, List<Block> blocks, Tensor lnFinalW, Tensor lnFinalB, Tensor wU,
                          Tensor bU) {

    /**
     * One block's parameters.
     *
     * @param ln1W [d_model]
     * @param ln1B [d_model]
     * @param wQkv [d_model, 3·d_model], columns (q|k|v, head, d_head)
     * @param bQkv [3·d_model] or null
     * @param wO   [d_model (= head·d_head), d_model]
     * @param bO   [d_model]
     * @param ln2W [d_model]
     * @param ln2B [d_model]
     * @param wIn  [d_model, d_mlp]
     * @param bIn  [d_mlp]
     * @param wOut [d_mlp, d_model]
     * @param bOut [d_model]
     */
    public record Block(Tensor ln1W, Tensor ln1B, Tensor wQkv, Tensor bQkv, Tensor wO, Tensor bO, Tensor ln2W,
                        Tensor ln2B, Tensor wIn, Tensor bIn, Tensor wOut, Tensor bOut) {
        Block to(Device device) {
            return new Block(move(ln1W, device), move(ln1B, device), move(wQkv, device), move(bQkv, device),
                    move(wO, device), move(bO, device), move(ln2W, device), move(ln2B, device), move(wIn, device),
                    move(bIn, device), move(wOut, device), move(bOut, device));
        }
    }

    public Gpt2Weights {
        if (nHeads < 1 || wte.size(1) % nHeads != 0) {
            throw new IllegalArgumentException(nHeads + " heads do not divide d_model " + wte.size(1));
        }
        blocks = List.copyOf(blocks);
    }

    /** The device the weights live on (that of {@code wte}; {@link #to} keeps them all on one). */
    public Device device() {
        return wte.device();
    }

    /**
     * These weights copied to {@code device} (or these very weights when they are already there): every parameter a
     * contiguous copy that is a leaf of its own, requiring a gradient when the original did; a tied unembedding stays
     * tied (a view of the new {@code wte}).
     */
    public Gpt2Weights to(Device device) {
        if (device.equals(device())) return this;
        List<Block> moved = new ArrayList<>();
        for (Block b : blocks) moved.add(b.to(device));
        Tensor newWte = move(wte, device);
        Tensor newWU = tied() ? newWte.transpose(0, 1) : move(wU, device);
        return new Gpt2Weights(nHeads, newWte, move(wpe, device), moved, move(lnFinalW, device),
                move(lnFinalB, device), newWU, move(bU, device));
    }

    /** True when the unembedding is the token embedding's transpose (shares its storage). */
    public boolean tied() {
        return wU.storage() == wte.storage() && wU.strides()[0] == 1;
    }

    /**
     * The unembedding [d_model, d_vocab]. When tied, a transposed view of {@code wte} taken now rather than the one
     * stored: a view taken before {@link #requireGrad} is a separate leaf, and the unembedding's gradient would never
     * reach {@code wte}.
     */
    @Override
    public Tensor wU() {
        return tied() ? wte.transpose(0, 1) : wU;
    }

    // ---------------------------------------------------------------- TransformerLens per-head views

    /** W_Q of layer {@code l}: [head, d_model, d_head] (a view). */
    public Tensor wQ(int l) {
        return qkvWeight(l, 0);
    }

    /** W_K of layer {@code l}: [head, d_model, d_head] (a view). */
    public Tensor wK(int l) {
        return qkvWeight(l, 1);
    }

    /** W_V of layer {@code l}: [head, d_model, d_head] (a view). */
    public Tensor wV(int l) {
        return qkvWeight(l, 2);
    }

    /** b_Q, b_K, b_V of layer {@code l} ({@code which} 0, 1, 2): [head, d_head] (a view), or zeros when absent. */
    public Tensor bQkv(int l, int which) {
        Block b = blocks.get(l);
        if (b.bQkv() == null) {
            int d = b.wQkv().size(0);
            return Tensor.zeros(b.wQkv().device(), nHeads, d / nHeads);
        }
        return ModelWeights.qkvBiasPerHead(b.bQkv(), nHeads, which);
    }

    /** W_O of layer {@code l}: [head, d_head, d_model] (a view). */
    public Tensor wO(int l) {
        return ModelWeights.outPerHead(blocks.get(l).wO(), nHeads);
    }

    private Tensor qkvWeight(int l, int which) {
        return ModelWeights.qkvPerHead(blocks.get(l).wQkv(), nHeads, which);
    }

    // ---------------------------------------------------------------- parameters by name

    /**
     * Every parameter tensor by its Hugging Face GPT-2 name ({@code wte.weight}, {@code h.0.attn.c_attn.weight} ...),
     * in GPT-2's [in, out] layout, skipping nulls and a tied {@code lm_head}: what {@link Gpt2Model#save} writes.
     * An untied {@code lm_head.weight} is a transposed view of {@link #wU()} ([d_vocab, d_model] as files store it),
     * not the leaf itself: optimizers take {@link #namedLeaves()}.
     */
    public Map<String, Tensor> named() {
        return named(false);
    }

    /**
     * As {@link #named()}, but an untied {@code lm_head.weight} is the leaf {@link #wU()} itself ([d_model, d_vocab]):
     * the tensors an optimizer updates, by name (e.g. for {@code ParamGroup.split}).
     */
    public Map<String, Tensor> namedLeaves() {
        return named(true);
    }

    private Map<String, Tensor> named(boolean leaves) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("wte.weight", wte);
        m.put("wpe.weight", wpe);
        for (int i = 0; i < blocks.size(); i++) {
            Block b = blocks.get(i);
            String p = "h." + i + ".";
            put(m, p + "ln_1.weight", b.ln1W());
            put(m, p + "ln_1.bias", b.ln1B());
            put(m, p + "attn.c_attn.weight", b.wQkv());
            put(m, p + "attn.c_attn.bias", b.bQkv());
            put(m, p + "attn.c_proj.weight", b.wO());
            put(m, p + "attn.c_proj.bias", b.bO());
            put(m, p + "ln_2.weight", b.ln2W());
            put(m, p + "ln_2.bias", b.ln2B());
            put(m, p + "mlp.c_fc.weight", b.wIn());
            put(m, p + "mlp.c_fc.bias", b.bIn());
            put(m, p + "mlp.c_proj.weight", b.wOut());
            put(m, p + "mlp.c_proj.bias", b.bOut());
        }
        put(m, "ln_f.weight", lnFinalW);
        put(m, "ln_f.bias", lnFinalB);
        if (!tied()) m.put("lm_head.weight", leaves ? wU : wU.transpose(0, 1));
        put(m, "lm_head.bias", bU);
        return m;
    }

    private static void put(Map<String, Tensor> m, String name, Tensor t) {
        if (t != null) m.put(name, t);
    }

    /** Marks every parameter as requiring a gradient (for training or parameter gradients). Returns {@code this}. */
    public Gpt2Weights requireGrad() {
        for (Tensor t : leaves()) t.setRequiresGrad(true);
        return this;
    }

    /** The parameter tensors themselves (not views), each once: a tied unembedding is {@code wte}. */
    public List<Tensor> leaves() {
        return List.copyOf(namedLeaves().values());
    }

    /**
     * Fresh weights for training: normal(0, 0.02) matrices and embeddings, residual-writing projections
     * ({@code wO}, {@code wOut}) at 0.02/√(2·layers) as in GPT-2, LayerNorm weights 1 and biases 0, zero biases, the
     * unembedding tied to {@code wte}.
     */
    public static Gpt2Weights init(Gpt2Config c, Rng rng) {
        float std = 0.02f, resid = (float) (0.02 / Math.sqrt(2.0 * c.nLayers()));
        int d = c.dModel();
        Tensor wte = Tensor.randn(rng, c.dVocab(), d).mul(std), wpe = Tensor.randn(rng, c.nCtx(), d).mul(std);
        List<Block> blocks = new ArrayList<>();
        for (int l = 0; l < c.nLayers(); l++) {
            Tensor wQkv = Tensor.randn(rng, d, 3 * d).mul(std), wO = Tensor.randn(rng, d, d).mul(resid);
            Tensor wIn = null, bIn = null, wOut = null, bOut = null, ln2W = null, ln2B = null;
            if (!c.attnOnly()) {
                ln2W = Tensor.ones(d);
                ln2B = Tensor.zeros(d);
                wIn = Tensor.randn(rng, d, c.dMlp()).mul(std);
                bIn = Tensor.zeros(c.dMlp());
                wOut = Tensor.randn(rng, c.dMlp(), d).mul(resid);
                bOut = Tensor.zeros(d);
            }
            blocks.add(new Block(Tensor.ones(d), Tensor.zeros(d), wQkv, Tensor.zeros(3 * d), wO, Tensor.zeros(d), ln2W,
                    ln2B, wIn, bIn, wOut, bOut));
        }
        return new Gpt2Weights(c.nHeads(), wte, wpe, blocks, Tensor.ones(d), Tensor.zeros(d), wte.transpose(0, 1), null);
    }
}
