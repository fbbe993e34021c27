package dev.loupe.transformer.gpt2;

import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.HookedAttention;
import dev.loupe.transformer.HookedMlp;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.hooks.HookNames;
import dev.loupe.transformer.hooks.HookRun;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One forward pass, top to bottom as the architecture reads: embed, blocks (attention then MLP, each added to the
 * residual stream), final LayerNorm, unembed. Every activation goes through {@link HookRun#point}. Shapes below use
 * b = batch, p = new positions, k = key positions (cached + new), h = heads, d = d_head, m = d_model.
 *
 * <p>A resumed pass ({@link Gpt2Model#resume}) skips the embedding and starts at the first entry's layer; rows join
 * at their entry's layer, so a block sees only the rows that have joined by then (b is per block).
 */
final class Gpt2Forward {
    private final Gpt2Config c;
    private final Gpt2Weights w;
    private final TokenBatch batch;
    private final HookRun run;
    private final KvCache cache;
    private final int b, p, past;
    private final KvCache.Staged[] staged; // per layer, the keys and values to commit to the cache
    private final List<Gpt2Model.Entry> entries; // null for a pass from the tokens
    private final Gpt2Model.Readout readout;

    Gpt2Forward(Gpt2Model model, TokenBatch batch, HookRun run, KvCache cache) {
        this(model, batch, run, cache, null, Gpt2Model.Readout.LOGITS);
    }

    Gpt2Forward(Gpt2Model model, TokenBatch batch, HookRun run, KvCache cache, List<Gpt2Model.Entry> entries,
                Gpt2Model.Readout readout) {
        this.c = model.config();
        this.w = model.weights();
        this.batch = batch;
        this.run = run;
        this.cache = cache;
        this.b = batch.batch();
        this.p = batch.length();
        this.past = cache == null ? 0 : cache.length();
        this.staged = new KvCache.Staged[c.nLayers()];
        this.entries = entries;
        this.readout = readout;
        validate();
        if (entries != null) validateEntries();
    }

    private void validateEntries() {
        if (entries.isEmpty()) throw new IllegalArgumentException("a resumed pass needs at least one entry");
        int rows = 0, prev = 0;
        for (Gpt2Model.Entry e : entries) {
            if (e.layer() < prev || e.layer() > c.nLayers()) {
                throw new IllegalArgumentException("entry layer " + e.layer() + " must lie in " + prev + ".."
                        + c.nLayers() + " (entries in layer order)");
            }
            prev = e.layer();
            int[] s = e.residPre().shape();
            if (s.length != 3 || s[1] != p || s[2] != c.dModel()) {
                throw new IllegalArgumentException("entry at layer " + e.layer() + " has residPre "
                        + Arrays.toString(s) + " but expected [rows, " + p + ", " + c.dModel() + "]");
            }
            rows += s[0];
        }
        if (rows != b) {
            throw new IllegalArgumentException("entries hold " + rows + " rows but the batch has " + b);
        }
    }

    private void validate() {
        if (cache != null && cache.length() > 0 && cache.batch() != b) {
            throw new IllegalArgumentException("the KV cache holds " + cache.batch() + " sequences but the batch has " + b);
        }
        for (int r = 0; r < b && entries == null; r++) {
            for (int i = 0; i < p; i++) {
                int id = batch.token(r, i);
                if (id < 0 || id >= c.dVocab()) {
                    throw new IllegalArgumentException("token id " + id + " at [" + r + ", " + i + "] is outside the "
                            + "vocabulary (0.." + (c.dVocab() - 1) + ")");
                }
            }
        }
        if (past + p > c.nCtx()) {
            throw new IllegalArgumentException("sequence of " + (past + p) + " positions"
                    + (past > 0 ? " (" + past + " cached + " + p + " new)" : "") + " exceeds the context length "
                    + c.nCtx());
        }
    }

    /** Logits [b, p, d_vocab], or as the readout asks ([b, 1, d_vocab]; null). */
    Tensor run() {
        int window = c.attention().contains(Gpt2Config.AttentionKind.LOCAL) ? c.window() : 0;
        AttentionMasks masks = AttentionMasks.build(batch, cache, window, w.device());
        int[][] positions = batch.positions(cache == null || cache.length() == 0 ? null : cache.realCounts());

        Tensor resid = null;
        int first = 0;
        if (entries == null) {
            // Ids and positions are host data (TokenBatch); each goes to the weights' device once per call.
            Tensor ids = batch.ids().to(w.device()), posIds = Tensor.indices(positions).to(w.device());
            Tensor embed = run.point(HookNames.EMBED, Tensor.embedding(w.wte(), ids));
            Tensor pos = run.point(HookNames.POS_EMBED, Tensor.embedding(w.wpe(), posIds));
            resid = embed.add(pos);
        } else {
            first = entries.get(0).layer();
        }
        for (int l = first; l < c.nLayers(); l++) resid = block(l, join(resid, l), masks);
        resid = join(resid, c.nLayers());
        if (readout != Gpt2Model.Readout.LOGITS) resid = resid.narrow(1, p - 1, 1);
        Tensor x = norm("ln_final", resid, w.lnFinalW(), w.lnFinalB());
        Tensor logits = readout == Gpt2Model.Readout.LAST_NORMALIZED ? null : unembed(w, x);

        if (cache != null && entries == null) {
            int[] counts = new int[b];
            for (int r = 0; r < b; r++) {
                counts[r] = positions[r][p - 1] + batch.mask(r, p - 1);
            }
            cache.commit(staged, masks.keyMask, counts);
        }
        return logits;
    }

    /** The rows entering at layer {@code l} appended to {@code resid} [rows so far, p, m] (null for none yet). */
    private Tensor join(Tensor resid, int l) {
        if (entries == null) return resid;
        List<Tensor> parts = new ArrayList<>();
        if (resid != null) parts.add(resid);
        for (Gpt2Model.Entry e : entries) if (e.layer() == l) parts.add(e.residPre());
        return parts.size() == 1 ? parts.get(0) : Tensor.cat(0, parts.toArray(Tensor[]::new));
    }

    /** resid [b, p, m] → resid [b, p, m] */
    private Tensor block(int l, Tensor resid, AttentionMasks masks) {
        Gpt2Weights.Block bw = w.blocks().get(l);
        resid = run.point(HookNames.residPre(l), resid);
        Tensor attnOut = run.point(HookNames.attnOut(l), attention(l, bw, resid, masks));
        if (c.attnOnly()) return run.point(HookNames.residPost(l), resid.add(attnOut));
        Tensor mid = run.point(HookNames.residMid(l), resid.add(attnOut));
        // hook_mlp_in (optional): the MLP's own copy of resid_mid, so a hook on it reaches the MLP and nothing else.
        String mlpIn = HookNames.mlpIn(l);
        Tensor in = run.wants(mlpIn) ? run.point(mlpIn, mid) : mid;
        Tensor x = norm(HookNames.block(l, "ln2"), in, bw.ln2W(), bw.ln2B());
        Tensor mlpOut = HookedMlp.apply(run, l, x, c.activation(), bw.wIn(), bw.bIn(), bw.wOut(), bw.bOut());
        return run.point(HookNames.residPost(l), mid.add(mlpOut));
    }

    /** resid [b, p, m] → attention output [b, p, m] (b_O included). */
    private Tensor attention(int l, Gpt2Weights.Block bw, Tensor resid, AttentionMasks masks) {
        int h = c.nHeads(), d = c.dHead(), m = c.dModel(), b = resid.size(0);
        Tensor q, k, v;
        String qIn = HookNames.block(l, "hook_q_input"), kIn = HookNames.block(l, "hook_k_input");
        String vIn = HookNames.block(l, "hook_v_input");
        if (run.wants(qIn) || run.wants(kIn) || run.wants(vIn)) {
            // Per-head residual inputs (path patching receivers): [b, p, h, m] each, normalized per head.
            Tensor perHead = resid.unsqueeze(2).expand(b, p, h, m);
            Tensor inputs = Tensor.stack(2, run.point(qIn, perHead), run.point(kIn, perHead), run.point(vIn, perHead));
            Tensor x = norm(HookNames.block(l, "ln1"), inputs, bw.ln1W(), bw.ln1B()); // [b, p, 3, h, m]
            q = Tensor.einsum("bphm,hmd->bphd", x.select(2, 0), w.wQ(l)).add(w.bQkv(l, 0));
            k = Tensor.einsum("bphm,hmd->bphd", x.select(2, 1), w.wK(l)).add(w.bQkv(l, 1));
            v = Tensor.einsum("bphm,hmd->bphd", x.select(2, 2), w.wV(l)).add(w.bQkv(l, 2));
        } else {
            Tensor x = norm(HookNames.block(l, "ln1"), resid, bw.ln1W(), bw.ln1B());
            // One product for all three (bias, where there is one, folded in): [b, p, 3·m] as [b, p, (q|k|v), h, d].
            Tensor qkv = x.linear(bw.wQkv(), bw.bQkv()).view(b, p, 3, h, d);
            q = qkv.select(2, 0);
            k = qkv.select(2, 1);
            v = qkv.select(2, 2);
        }
        q = run.point(HookNames.attn(l, "hook_q"), q);
        k = run.point(HookNames.attn(l, "hook_k"), k);
        v = run.point(HookNames.attn(l, "hook_v"), v);
        if (cache != null && entries == null) {
            staged[l] = cache.stage(l, k, v, c.nCtx());
            k = staged[l].keys();
            v = staged[l].values();
        } else if (cache != null && past > 0) {
            // A resumed pass reads the cache and commits nothing to it: the earlier positions, then the new.
            k = Tensor.cat(1, rows(cache.keys(l), b), k);
            v = Tensor.cat(1, rows(cache.values(l), b), v);
        }
        boolean local = c.attention().get(l) == Gpt2Config.AttentionKind.LOCAL;
        float scale = c.scaleAttn() ? (float) (1.0 / Math.sqrt(d)) : 1f;
        Tensor queryValid = masks.queryValid == null ? null : rows(masks.queryValid, b);
        return HookedAttention.apply(run, l, q, k, v, scale, rows(local ? masks.local : masks.global, b), queryValid,
                w.wO(l), bw.wO(), bw.bO());
    }

    /** x [..., m] (after ln_final) → logits [..., d_vocab]. */
    static Tensor unembed(Gpt2Weights w, Tensor x) {
        // A tied wU() is a fresh view of wte, so its gradient reaches wte; a bias (if any) is folded into the product.
        return x.linear(w.wU(), w.bU());
    }

    /** The first {@code b} rows of a per-row tensor (rows still to join a resumed pass come last); as is if shared. */
    private Tensor rows(Tensor t, int b) {
        return t.size(0) == 1 || t.size(0) == b ? t : t.narrow(0, 0, b);
    }

    /** LayerNorm with its hook points {@code <prefix>.hook_scale} and {@code <prefix>.hook_normalized}. */
    private Tensor norm(String prefix, Tensor x, Tensor weight, Tensor bias) {
        return run.layerNorm(prefix, x, weight, bias, c.lnEps());
    }
}
