package dev.loupe.transformer.bert;

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
 * The parameters of a BERT encoder, with every matrix [in, out] (x @ W), as {@link dev.loupe.transformer.gpt2.Gpt2Weights}
 * has them; Hugging Face's {@code nn.Linear} weights ([out, in]) are transposed on loading. TransformerLens's per-head
 * tensors ({@link #wQ}, {@link #wO} ...) are views, not copies.
 *
 * @param nHeads  attention heads per block
 * @param wordEmb token embedding [d_vocab, d_model]
 * @param posEmb  position embedding [n_ctx, d_model]
 * @param typeEmb token-type (segment) embedding [n_types, d_model]
 * @param embLnW  embedding LayerNorm weight [d_model]
 * @param embLnB  embedding LayerNorm bias [d_model]
 * @param blocks  one per layer
 * @param pooler  the [CLS] pooler, or null (sentence-transformers exports often drop it)
 * @param mlm     the masked-language-model head, or null
 */
public record BertWeights(int nHeads, Tensor wordEmb, Tensor posEmb, Tensor typeEmb, Tensor embLnW, Tensor embLnB,
                          List<Block> blocks, Pooler pooler, MlmHead mlm) {

    /**
     * One post-LayerNorm block: attention, then {@code ln1} over (residual + attention), then the MLP, then {@code ln2}
     * over (normalized residual + MLP). Q, K and V are stored side by side, as {@link
     * dev.loupe.transformer.gpt2.Gpt2Weights} has them, so that the three projections are one matrix product;
     * {@link #wQ()} ... {@link #bV()} are views of them.
     *
     * @param wQkv [d_model, 3·d_model], columns (q|k|v, head, d_head)
     * @param bQkv [3·d_model]
     * @param wO   [d_model (= head·d_head), d_model]
     * @param bO   [d_model]
     * @param ln1W [d_model] (Hugging Face's {@code attention.output.LayerNorm})
     * @param ln1B [d_model]
     * @param wIn  [d_model, d_mlp]
     * @param bIn  [d_mlp]
     * @param wOut [d_mlp, d_model]
     * @param bOut [d_model]
     * @param ln2W [d_model] (Hugging Face's {@code output.LayerNorm})
     * @param ln2B [d_model]
     */
    public record Block(Tensor wQkv, Tensor bQkv, Tensor wO, Tensor bO, Tensor ln1W, Tensor ln1B, Tensor wIn,
                        Tensor bIn, Tensor wOut, Tensor bOut, Tensor ln2W, Tensor ln2B) {
        public Block {
            int d = wO.size(1);
            if (wQkv.rank() != 2 || wQkv.size(0) != d || wQkv.size(1) != 3 * d || bQkv.rank() != 1
                    || bQkv.size(0) != 3 * d) {
                throw new IllegalArgumentException("W_QKV " + java.util.Arrays.toString(wQkv.shape()) + " and b_QKV "
                        + java.util.Arrays.toString(bQkv.shape()) + " must be [" + d + ", " + 3 * d + "] and ["
                        + 3 * d + "] for d_model " + d);
            }
        }

        /**
         * A block from separate Q, K and V projections ({@code wQ} ... [d_model, d_model], {@code bQ} ...
         * [d_model]), joined into {@link #wQkv} and {@link #bQkv} (a copy).
         */
        public static Block of(Tensor wQ, Tensor bQ, Tensor wK, Tensor bK, Tensor wV, Tensor bV, Tensor wO, Tensor bO,
                               Tensor ln1W, Tensor ln1B, Tensor wIn, Tensor bIn, Tensor wOut, Tensor bOut, Tensor ln2W,
                               Tensor ln2B) {
            return new Block(Tensor.cat(1, wQ, wK, wV), Tensor.cat(0, bQ, bK, bV), wO, bO, ln1W, ln1B, wIn, bIn,
                    wOut, bOut, ln2W, ln2B);
        }

        /** W_Q [d_model, d_model], columns (head, d_head): a view of {@link #wQkv}. */
        public Tensor wQ() {
            return third(wQkv, 1, 0);
        }

        /** W_K [d_model, d_model]: a view of {@link #wQkv}. */
        public Tensor wK() {
            return third(wQkv, 1, 1);
        }

        /** W_V [d_model, d_model]: a view of {@link #wQkv}. */
        public Tensor wV() {
            return third(wQkv, 1, 2);
        }

        /** b_Q [d_model]: a view of {@link #bQkv}. */
        public Tensor bQ() {
            return third(bQkv, 0, 0);
        }

        /** b_K [d_model]: a view of {@link #bQkv}. */
        public Tensor bK() {
            return third(bQkv, 0, 1);
        }

        /** b_V [d_model]: a view of {@link #bQkv}. */
        public Tensor bV() {
            return third(bQkv, 0, 2);
        }

        private static Tensor third(Tensor t, int dim, int which) {
            int n = t.size(dim) / 3;
            return t.narrow(dim, which * n, n);
        }

        List<Tensor> all() {
            return List.of(wQkv, bQkv, wO, bO, ln1W, ln1B, wIn, bIn, wOut, bOut, ln2W, ln2B);
        }

        Block to(Device d) {
            return new Block(move(wQkv, d), move(bQkv, d), move(wO, d), move(bO, d), move(ln1W, d), move(ln1B, d),
                    move(wIn, d), move(bIn, d), move(wOut, d), move(bOut, d), move(ln2W, d), move(ln2B, d));
        }
    }

    /** tanh(h[CLS] @ w + b): {@code w} [d_model, d_model], {@code b} [d_model]. */
    public record Pooler(Tensor w, Tensor b) {
    }

    /**
     * The MLM head: LayerNorm(act(h @ wT + bT)) @ wU + bU.
     *
     * @param wT  transform [d_model, d_model]
     * @param bT  [d_model]
     * @param lnW [d_model]
     * @param lnB [d_model]
     * @param wU  decoder [d_model, d_vocab]: a transposed view of the word embedding when tied
     * @param bU  [d_vocab]
     */
    public record MlmHead(Tensor wT, Tensor bT, Tensor lnW, Tensor lnB, Tensor wU, Tensor bU) {
    }

    public BertWeights {
        int d = wordEmb.size(1);
        if (nHeads < 1 || d % nHeads != 0) throw new IllegalArgumentException(nHeads + " heads do not divide d_model " + d);
        blocks = List.copyOf(blocks);
    }

    /**
     * Random weights as Hugging Face's {@code BertPreTrainedModel._init_weights} draws them: every linear and embedding
     * matrix from normal(0, 0.02), biases 0, LayerNorm weights 1 and biases 0; with a pooler and an MLM head whose
     * decoder is tied to the word embedding. Seeded by {@code rng}, so a test can rebuild the same model.
     */
    public static BertWeights init(BertConfig c, Rng rng) {
        int d = c.dModel(), m = c.dMlp();
        Tensor word = normal(rng, c.dVocab(), d), pos = normal(rng, c.nCtx(), d), type = normal(rng, c.nTypes(), d);
        List<Block> blocks = new ArrayList<>();
        for (int l = 0; l < c.nLayers(); l++) {
            blocks.add(Block.of(normal(rng, d, d), Tensor.zeros(d), normal(rng, d, d), Tensor.zeros(d),
                    normal(rng, d, d), Tensor.zeros(d), normal(rng, d, d), Tensor.zeros(d), Tensor.ones(d),
                    Tensor.zeros(d), normal(rng, d, m), Tensor.zeros(m), normal(rng, m, d), Tensor.zeros(d),
                    Tensor.ones(d), Tensor.zeros(d)));
        }
        Pooler pooler = new Pooler(normal(rng, d, d), Tensor.zeros(d));
        MlmHead mlm = new MlmHead(normal(rng, d, d), Tensor.zeros(d), Tensor.ones(d), Tensor.zeros(d),
                word.transpose(0, 1), Tensor.zeros(c.dVocab()));
        return new BertWeights(c.nHeads(), word, pos, type, Tensor.ones(d), Tensor.zeros(d), blocks, pooler, mlm);
    }

    private static Tensor normal(Rng rng, int rows, int cols) {
        return Tensor.randn(rng, rows, cols).mul(0.02f);
    }

    /** The device the weights live on (that of {@code wordEmb}; {@link #to} keeps them all on one). */
    public Device device() {
        return wordEmb.device();
    }

    /**
     * These weights copied to {@code device} (or these very weights when they are already there): each parameter a
     * contiguous copy that is a leaf of its own, requiring a gradient when the original did; a tied decoder stays tied.
     */
    public BertWeights to(Device device) {
        if (device.equals(device())) return this;
        Tensor word = move(wordEmb, device);
        List<Block> moved = new ArrayList<>();
        for (Block b : blocks) moved.add(b.to(device));
        Pooler p = pooler == null ? null : new Pooler(move(pooler.w(), device), move(pooler.b(), device));
        MlmHead h = mlm == null ? null : new MlmHead(move(mlm.wT(), device), move(mlm.bT(), device),
                move(mlm.lnW(), device), move(mlm.lnB(), device),
                tied() ? word.transpose(0, 1) : move(mlm.wU(), device), move(mlm.bU(), device));
        return new BertWeights(nHeads, word, move(posEmb, device), move(typeEmb, device), move(embLnW, device),
                move(embLnB, device), moved, p, h);
    }

    /** True when the MLM decoder is the word embedding's transpose (shares its storage). */
    public boolean tied() {
        return mlm != null && mlm.wU().storage() == wordEmb.storage() && mlm.wU().strides()[0] == 1;
    }

    /**
     * The MLM decoder [d_model, d_vocab]: a tied one is a fresh transposed view of {@code wordEmb} on every call, so
     * that its gradient reaches the embedding even when the stored view predates {@link #requireGrad()}.
     */
    public Tensor decoder() {
        if (mlm == null) throw new IllegalStateException("these weights have no masked-LM head");
        return tied() ? wordEmb.transpose(0, 1) : mlm.wU();
    }

    // ---------------------------------------------------------------- TransformerLens per-head views

    /** W_Q of layer {@code l}: [head, d_model, d_head] (a view). */
    public Tensor wQ(int l) {
        return perHeadIn(l, 0);
    }

    /** W_K of layer {@code l}: [head, d_model, d_head] (a view). */
    public Tensor wK(int l) {
        return perHeadIn(l, 1);
    }

    /** W_V of layer {@code l}: [head, d_model, d_head] (a view). */
    public Tensor wV(int l) {
        return perHeadIn(l, 2);
    }

    /** b_Q, b_K or b_V ({@code which} 0, 1, 2) of layer {@code l}: [head, d_head] (a view). */
    public Tensor bQkv(int l, int which) {
        return ModelWeights.qkvBiasPerHead(blocks.get(l).bQkv(), nHeads, which);
    }

    /** W_O of layer {@code l}: [head, d_head, d_model] (a view). */
    public Tensor wO(int l) {
        return ModelWeights.outPerHead(blocks.get(l).wO(), nHeads);
    }

    /** Q, K or V's columns of W_QKV as [head, d_model, d_head] (a view). */
    private Tensor perHeadIn(int l, int which) {
        return ModelWeights.qkvPerHead(blocks.get(l).wQkv(), nHeads, which);
    }

    // ---------------------------------------------------------------- parameters by name

    /**
     * Every parameter by its Hugging Face {@code BertForMaskedLM} name without the {@code bert.} prefix
     * ({@code embeddings.word_embeddings.weight}, {@code encoder.layer.0.attention.self.query.weight},
     * {@code pooler.dense.weight}, {@code cls.predictions.transform.dense.weight} ...), in Hugging Face's layout:
     * linear weights are [out, in] (transposed views of ours). A tied decoder is left out.
     */
    public Map<String, Tensor> named() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("embeddings.word_embeddings.weight", wordEmb);
        m.put("embeddings.position_embeddings.weight", posEmb);
        m.put("embeddings.token_type_embeddings.weight", typeEmb);
        m.put("embeddings.LayerNorm.weight", embLnW);
        m.put("embeddings.LayerNorm.bias", embLnB);
        for (int l = 0; l < blocks.size(); l++) {
            Block b = blocks.get(l);
            String p = "encoder.layer." + l + ".";
            linear(m, p + "attention.self.query", b.wQ(), b.bQ());
            linear(m, p + "attention.self.key", b.wK(), b.bK());
            linear(m, p + "attention.self.value", b.wV(), b.bV());
            linear(m, p + "attention.output.dense", b.wO(), b.bO());
            m.put(p + "attention.output.LayerNorm.weight", b.ln1W());
            m.put(p + "attention.output.LayerNorm.bias", b.ln1B());
            linear(m, p + "intermediate.dense", b.wIn(), b.bIn());
            linear(m, p + "output.dense", b.wOut(), b.bOut());
            m.put(p + "output.LayerNorm.weight", b.ln2W());
            m.put(p + "output.LayerNorm.bias", b.ln2B());
        }
        if (pooler != null) linear(m, "pooler.dense", pooler.w(), pooler.b());
        if (mlm != null) {
            linear(m, "cls.predictions.transform.dense", mlm.wT(), mlm.bT());
            m.put("cls.predictions.transform.LayerNorm.weight", mlm.lnW());
            m.put("cls.predictions.transform.LayerNorm.bias", mlm.lnB());
            if (!tied()) m.put("cls.predictions.decoder.weight", mlm.wU().transpose(0, 1));
            m.put("cls.predictions.bias", mlm.bU());
        }
        return m;
    }

    private static void linear(Map<String, Tensor> m, String prefix, Tensor w, Tensor b) {
        m.put(prefix + ".weight", w.transpose(0, 1));
        m.put(prefix + ".bias", b);
    }

    /** The parameter tensors themselves (not views), each once: a tied decoder is {@code wordEmb}. */
    public List<Tensor> leaves() {
        List<Tensor> out = new ArrayList<>(List.of(wordEmb, posEmb, typeEmb, embLnW, embLnB));
        for (Block b : blocks) out.addAll(b.all());
        if (pooler != null) out.addAll(List.of(pooler.w(), pooler.b()));
        if (mlm != null) {
            out.addAll(List.of(mlm.wT(), mlm.bT(), mlm.lnW(), mlm.lnB()));
            if (!tied()) out.add(mlm.wU());
            out.add(mlm.bU());
        }
        return out;
    }

    /** Marks every parameter as requiring a gradient. Returns {@code this}. */
    public BertWeights requireGrad() {
        for (Tensor t : leaves()) t.setRequiresGrad(true);
        return this;
    }
}
