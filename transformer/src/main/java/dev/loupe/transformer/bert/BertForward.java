package dev.loupe.transformer.bert;

import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.HookedAttention;
import dev.loupe.transformer.HookedMlp;
import dev.loupe.transformer.hooks.HookNames;
import dev.loupe.transformer.hooks.HookRun;

/**
 * One encoder pass, top to bottom as the architecture reads: embeddings → LayerNorm, then per block attention →
 * residual → {@code ln1} → MLP → residual → {@code ln2}, then the heads asked for. Every activation goes through
 * {@link HookRun#point}. Shapes use b = batch, p = positions, h = heads, d = d_head, m = d_model.
 */
final class BertForward {
    private final BertConfig c;
    private final BertWeights w;
    private final BertInput in;
    private final HookRun run;
    private final int b, p;
    private final Tensor ids, typeIds, mask; // the input's, on the weights' device

    BertForward(BertModel model, BertInput input, HookRun run) {
        this.c = model.config();
        this.w = model.weights();
        this.in = input;
        this.run = run;
        this.b = input.batch();
        this.p = input.length();
        validate();
        // The input is host data; each tensor goes to the weights' device once per call.
        this.ids = input.ids().to(w.device());
        this.typeIds = input.typeIds().to(w.device());
        this.mask = input.mask().to(w.device());
    }

    private void validate() {
        if (p > c.nCtx()) {
            throw new IllegalArgumentException("sequence of " + p + " positions exceeds max_position_embeddings " + c.nCtx());
        }
        check(in.ids(), c.dVocab(), "token id", "vocabulary");
        check(in.typeIds(), c.nTypes(), "token type id", "token types");
    }

    private void check(Tensor ids, int n, String what, String range) {
        float[] v = ids.toFloatArray();
        for (int i = 0; i < v.length; i++) {
            if (v[i] < 0 || v[i] >= n || v[i] != Math.rint(v[i])) {
                throw new IllegalArgumentException(what + " " + v[i] + " at [" + i / p + ", " + i % p + "] is outside "
                        + "the " + range + " (0.." + (n - 1) + ")");
            }
        }
    }

    /** Last hidden state [b, p, m]. */
    Tensor encode() {
        Tensor word = run.point(BertModel.EMBED, Tensor.embedding(w.wordEmb(), ids));
        // Positions 0..p-1 in every row: rows of the table, broadcast over the batch (validate() bounds p).
        Tensor pos = run.point(BertModel.POS_EMBED, w.posEmb().narrow(0, 0, p).unsqueeze(0).expand(b, p, c.dModel()));
        Tensor type = run.point(BertModel.TOKEN_TYPE_EMBED, Tensor.embedding(w.typeEmb(), typeIds));
        Tensor resid = norm("embed.ln", word.add(pos).add(type), w.embLnW(), w.embLnB());
        resid = run.point(BertModel.FULL_EMBED, resid);
        // Padding keys get -inf; padding queries still see every real key, so their rows stay finite.
        Tensor keyMask = null; // [b, 1, 1, p]
        if (in.padded()) {
            keyMask = Tensor.zeros(w.device(), b, p).maskedFill(mask.eq(0f), Float.NEGATIVE_INFINITY).view(b, 1, 1, p);
        }
        for (int l = 0; l < c.nLayers(); l++) resid = block(l, resid, keyMask);
        return resid;
    }

    /** resid [b, p, m] → resid [b, p, m] */
    private Tensor block(int l, Tensor resid, Tensor keyMask) {
        BertWeights.Block bw = w.blocks().get(l);
        resid = run.point(HookNames.residPre(l), resid);
        Tensor attnOut = run.point(HookNames.attnOut(l), attention(l, bw, resid, keyMask));
        Tensor mid = run.point(HookNames.residMid(l), resid.add(attnOut));
        Tensor x = norm(HookNames.block(l, "ln1"), mid, bw.ln1W(), bw.ln1B());
        Tensor mlpOut = HookedMlp.apply(run, l, x, c.activation(), bw.wIn(), bw.bIn(), bw.wOut(), bw.bOut());
        Tensor residPost = run.point(HookNames.residPost(l), x.add(mlpOut));
        Tensor out = norm(HookNames.block(l, "ln2"), residPost, bw.ln2W(), bw.ln2B());
        return run.point(HookNames.block(l, "hook_normalized_resid_post"), out);
    }

    /** resid [b, p, m] → attention output [b, p, m] (b_O included). */
    private Tensor attention(int l, BertWeights.Block bw, Tensor resid, Tensor keyMask) {
        int h = c.nHeads(), d = c.dHead(), m = c.dModel();
        Tensor q, k, v;
        String qIn = HookNames.block(l, "hook_q_input"), kIn = HookNames.block(l, "hook_k_input");
        String vIn = HookNames.block(l, "hook_v_input");
        if (run.wants(qIn) || run.wants(kIn) || run.wants(vIn)) {
            // Per-head residual inputs (path-patching receivers): [b, p, h, m] each.
            Tensor perHead = resid.unsqueeze(2).expand(b, p, h, m);
            q = Tensor.einsum("bphm,hmd->bphd", run.point(qIn, perHead), w.wQ(l)).add(w.bQkv(l, 0));
            k = Tensor.einsum("bphm,hmd->bphd", run.point(kIn, perHead), w.wK(l)).add(w.bQkv(l, 1));
            v = Tensor.einsum("bphm,hmd->bphd", run.point(vIn, perHead), w.wV(l)).add(w.bQkv(l, 2));
        } else {
            // One product for all three: [b, p, 3·m] viewed as [b, p, (q|k|v), h, d].
            Tensor qkv = resid.linear(bw.wQkv(), bw.bQkv()).view(b, p, 3, h, d);
            q = qkv.select(2, 0);
            k = qkv.select(2, 1);
            v = qkv.select(2, 2);
        }
        q = run.point(HookNames.attn(l, "hook_q"), q);
        k = run.point(HookNames.attn(l, "hook_k"), k);
        v = run.point(HookNames.attn(l, "hook_v"), v);
        return HookedAttention.apply(run, l, q, k, v, (float) (1.0 / Math.sqrt(d)), keyMask, null, w.wO(l), bw.wO(),
                bw.bO());
    }

    /** BERT's pooler: tanh(hidden[:, 0] @ W + b), [b, m]; null when the weights have none. */
    Tensor pooler(Tensor hidden) {
        if (w.pooler() == null) return null;
        Tensor cls = hidden.select(1, 0);
        return run.point(BertModel.POOLER_OUT, cls.linear(w.pooler().w(), w.pooler().b()).tanh());
    }

    /** The sentence embedding [b, m]: pooled ({@code hook_pooled}), then normalised when the pooling says so. */
    Tensor sentenceEmbedding(Tensor hidden, Pooling pooling) {
        Tensor pooled = run.point(BertModel.POOLED, pooling.pool(hidden, mask));
        if (!pooling.normalize()) return pooled;
        return run.point(BertModel.NORMALIZED_EMBEDDING, Pooling.l2Normalize(pooled));
    }

    /** MLM logits [b, p, d_vocab]. */
    Tensor maskedLm(Tensor hidden) {
        BertWeights.MlmHead hw = w.mlm();
        Tensor x = c.activation().apply(hidden.linear(hw.wT(), hw.bT()));
        x = norm("mlm_head.ln", x, hw.lnW(), hw.lnB());
        return x.linear(w.decoder(), hw.bU());
    }

    /** LayerNorm with its hook points {@code <prefix>.hook_scale} and {@code <prefix>.hook_normalized}. */
    private Tensor norm(String prefix, Tensor x, Tensor weight, Tensor bias) {
        return run.layerNorm(prefix, x, weight, bias, c.lnEps());
    }
}
