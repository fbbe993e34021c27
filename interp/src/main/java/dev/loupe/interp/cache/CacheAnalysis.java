package dev.loupe.interp.cache;

import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.gpt2.Gpt2Config;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.gpt2.Gpt2Weights;
import dev.loupe.transformer.hooks.ActivationCache;
import dev.loupe.transformer.hooks.HookNames;
import java.util.ArrayList;
import java.util.List;

/**
 * TransformerLens's {@code ActivationCache} helpers over a GPT-2-family model's cache: the residual stream
 * accumulated or decomposed into what wrote it, per-head and per-neuron contributions, the final LayerNorm applied
 * with the cached scale, and logit attribution. The cache must hold the points a method reads (the simplest:
 * {@code Hooks.cacheAll()}); a missing point is an {@link IllegalArgumentException} naming it.
 *
 * <p>Every stack is [component, batch, pos, d_model] with one label per component. Components of
 * {@link #decomposeResid} and {@link #fullDecomposition} sum exactly (up to float rounding) to the residual stream
 * they decompose.
 */
public final class CacheAnalysis {
    private final Gpt2Config c;
    private final Gpt2Weights w;
    private final ActivationCache cache;

    public CacheAnalysis(Gpt2Model model, ActivationCache cache) {
        this.c = model.config();
        this.w = model.weights();
        this.cache = cache;
    }

    /**
     * The residual stream before each layer up to {@code layer} (exclusive), optionally with each layer's mid point;
     * {@code layer == nLayers} adds the final residual ({@code final_post}).
     *
     * @param layer      0..nLayers
     * @param includeMid add {@code L_mid} after each {@code L_pre} (not for attention-only models)
     * @param applyLn    scale every component with the LayerNorm that reads the last one (see {@link #applyLnToStack})
     * @return labels {@code 0_pre, 0_mid, 1_pre, ..., final_post}; stack [component, batch, pos, d_model]
     */
    public LabeledStack accumulatedResid(int layer, boolean includeMid, boolean applyLn) {
        checkLayer(layer);
        List<Tensor> parts = new ArrayList<>();
        List<String> labels = new ArrayList<>();
        for (int l = 0; l < layer; l++) {
            parts.add(cache.get(HookNames.residPre(l)));
            labels.add(l + "_pre");
            if (includeMid && !c.attnOnly()) {
                parts.add(cache.get(HookNames.residMid(l)));
                labels.add(l + "_mid");
            }
        }
        if (layer == c.nLayers()) {
            parts.add(cache.get(HookNames.residPost(c.nLayers() - 1)));
            labels.add("final_post");
        }
        LabeledStack s = stack(parts, labels);
        return applyLn ? applyLnToStack(s, layer, false) : s;
    }

    /**
     * What wrote the residual stream read by {@code layer}: {@code embed}, {@code pos_embed}, then each earlier
     * layer's {@code L_attn_out} and {@code L_mlp_out}; with {@code mlpInput}, also {@code layer}'s own attention
     * (the residual its MLP reads). Sums to {@code hook_resid_pre} (or {@code hook_resid_mid}) of {@code layer}, or
     * to the final residual when {@code layer == nLayers}.
     *
     * @return stack [component, batch, pos, d_model]
     */
    public LabeledStack decomposeResid(int layer, boolean mlpInput, boolean applyLn) {
        checkLayer(layer);
        List<Tensor> parts = new ArrayList<>(List.of(cache.get(HookNames.EMBED), cache.get(HookNames.POS_EMBED)));
        List<String> labels = new ArrayList<>(List.of("embed", "pos_embed"));
        for (int l = 0; l < layer; l++) {
            parts.add(cache.get(HookNames.attnOut(l)));
            labels.add(l + "_attn_out");
            if (!c.attnOnly()) {
                parts.add(cache.get(HookNames.mlpOut(l)));
                labels.add(l + "_mlp_out");
            }
        }
        if (mlpInput && layer < c.nLayers()) {
            parts.add(cache.get(HookNames.attnOut(layer)));
            labels.add(layer + "_attn_out");
        }
        LabeledStack s = stack(parts, labels);
        return applyLn ? applyLnToStack(s, layer, mlpInput) : s;
    }

    /**
     * Each head's output written to the residual stream, for every layer before {@code layer}: z_h @ W_O[h], from
     * the cached {@code attn.hook_z} (b_O, shared by the heads, is not included). Labels {@code L0H0, L0H1, ...}.
     *
     * @return stack [layer·head, batch, pos, d_model]
     */
    public LabeledStack stackHeadResults(int layer, boolean applyLn) {
        checkLayer(layer);
        List<Tensor> parts = new ArrayList<>();
        List<String> labels = new ArrayList<>();
        for (int l = 0; l < layer; l++) {
            Tensor z = cache.get(HookNames.attn(l, "hook_z")); // [b, p, h, d]
            Tensor result = Tensor.einsum("bphd,hdm->hbpm", z, w.wO(l).detach());
            for (int h = 0; h < c.nHeads(); h++) {
                parts.add(result.select(0, h));
                labels.add("L" + l + "H" + h);
            }
        }
        LabeledStack s = stack(parts, labels);
        return applyLn ? applyLnToStack(s, layer, false) : s;
    }

    /**
     * Each MLP neuron's output written to the residual stream, post[n] · W_out[n], for the layers before
     * {@code layer} and the given neurons (null: all d_mlp of them — [layer·d_mlp, ...] can be large). Labels
     * {@code L0N17}. b_out is not included.
     *
     * @return stack [layer·neurons, batch, pos, d_model]
     */
    public LabeledStack stackNeuronResults(int layer, int[] neurons, boolean applyLn) {
        checkLayer(layer);
        if (c.attnOnly()) throw new IllegalStateException("an attention-only model has no MLP neurons");
        int[] ns = neurons != null ? neurons : range(c.dMlp());
        List<Tensor> parts = new ArrayList<>();
        List<String> labels = new ArrayList<>();
        Tensor idx = Tensor.indices(ns);
        for (int l = 0; l < layer; l++) {
            Tensor post = cache.get(HookNames.mlp(l, "hook_post")).indexSelect(2, idx);    // [b, p, n]
            Tensor wOut = w.blocks().get(l).wOut().detach().indexSelect(0, idx);           // [n, m]
            Tensor out = Tensor.einsum("bpn,nm->nbpm", post, wOut);
            for (int i = 0; i < ns.length; i++) {
                parts.add(out.select(0, i));
                labels.add("L" + l + "N" + ns[i]);
            }
        }
        LabeledStack s = stack(parts, labels);
        return applyLn ? applyLnToStack(s, layer, false) : s;
    }

    /**
     * Every component of the final residual stream: {@code embed}, {@code pos_embed}, every head ({@code L0H0} ...),
     * every layer's MLP ({@code L_mlp_out}, or every neuron with {@code expandNeurons}), and {@code bias} (the sum of
     * every b_O, plus b_out when neurons are expanded). Sums to the final residual.
     *
     * @return stack [component, batch, pos, d_model]
     */
    public LabeledStack fullDecomposition(boolean expandNeurons, boolean applyLn) {
        int n = c.nLayers();
        List<Tensor> parts = new ArrayList<>(List.of(cache.get(HookNames.EMBED), cache.get(HookNames.POS_EMBED)));
        List<String> labels = new ArrayList<>(List.of("embed", "pos_embed"));
        LabeledStack heads = stackHeadResults(n, false);
        for (int i = 0; i < heads.size(); i++) {
            parts.add(heads.stack().select(0, i));
            labels.add(heads.labels().get(i));
        }
        Tensor bias = Tensor.zeros(c.dModel());
        for (int l = 0; l < n; l++) bias = bias.add(w.blocks().get(l).bO().detach());
        if (!c.attnOnly()) {
            if (expandNeurons) {
                LabeledStack neurons = stackNeuronResults(n, null, false);
                for (int i = 0; i < neurons.size(); i++) {
                    parts.add(neurons.stack().select(0, i));
                    labels.add(neurons.labels().get(i));
                }
                for (int l = 0; l < n; l++) bias = bias.add(w.blocks().get(l).bOut().detach());
            } else {
                for (int l = 0; l < n; l++) {
                    parts.add(cache.get(HookNames.mlpOut(l)));
                    labels.add(l + "_mlp_out");
                }
            }
        }
        Tensor ref = parts.get(0);
        parts.add(bias.expand(ref.shape()));
        labels.add("bias");
        LabeledStack s = stack(parts, labels);
        return applyLn ? applyLnToStack(s, n, false) : s;
    }

    /**
     * Applies, to each component, the LayerNorm that reads the residual stream at {@code layer} ({@code ln1} of that
     * layer, {@code ln2} with {@code mlpInput}, or {@code ln_final} when {@code layer == nLayers}) as a linear map:
     * centre over d_model, divide by the scale cached from the real run ({@code hook_scale}), and multiply by the
     * LayerNorm weight when the model has one. The LayerNorm bias is a constant, not any component's, and is left
     * out. With the cached scale the map is linear, so the components still add up to the normalised residual
     * (minus the bias).
     *
     * @param s stack [component, batch, pos, d_model]
     * @return stack [component, batch, pos, d_model]
     */
    public LabeledStack applyLnToStack(LabeledStack s, int layer, boolean mlpInput) {
        checkLayer(layer);
        String scaleName;
        Tensor lnW;
        if (layer == c.nLayers()) {
            scaleName = HookNames.LN_FINAL_SCALE;
            lnW = w.lnFinalW();
        } else if (mlpInput) {
            scaleName = HookNames.block(layer, "ln2.hook_scale");
            lnW = w.blocks().get(layer).ln2W();
        } else {
            scaleName = HookNames.block(layer, "ln1.hook_scale");
            lnW = w.blocks().get(layer).ln1W();
        }
        Tensor scale = cache.get(scaleName); // [b, p, 1]
        if (scale.rank() != 3) {
            throw new IllegalArgumentException(scaleName + " has shape " + java.util.Arrays.toString(scale.shape())
                    + ": cached with per-head q/k/v inputs; run without hook_q_input/k_input/v_input selected");
        }
        Tensor x = s.stack();
        Tensor y = x.sub(x.mean(-1, true)).div(scale);
        if (lnW != null) y = y.mul(lnW.detach());
        return s.withStack(y);
    }

    /**
     * Direct logit attribution of each component: component · (W_U[:, token] − W_U[:, incorrect]) per batch row,
     * where row {@code i} uses {@code tokens[i]} (and {@code incorrect[i]}, or nothing when {@code incorrect} is
     * null). Apply the final LayerNorm first ({@link #applyLnToStack} with {@code nLayers}) for attributions that add
     * up to the logit (difference), less the LayerNorm bias's and b_U's constant share.
     *
     * @param s         stack [component, batch, pos, d_model]
     * @param tokens    [batch] token ids
     * @param incorrect [batch] token ids or null
     * @return [component, batch, pos]
     */
    public Tensor logitAttrs(LabeledStack s, int[] tokens, int[] incorrect) {
        int batch = s.stack().size(1);
        if (tokens.length != batch || (incorrect != null && incorrect.length != batch)) {
            throw new IllegalArgumentException("need one token per batch row (" + batch + "), got " + tokens.length
                    + (incorrect != null ? " and " + incorrect.length : ""));
        }
        Tensor dir = residDirections(tokens);                           // [batch, d_model]
        if (incorrect != null) dir = dir.sub(residDirections(incorrect));
        return directionAttrs(s, dir);
    }

    /**
     * Attribution of each component to any residual direction (a probe, a steering vector, a difference of
     * unembedding columns): component · direction.
     *
     * @param s         stack [component, batch, pos, d_model]
     * @param direction [d_model] for every row, or [batch, d_model] per row
     * @return [component, batch, pos]
     */
    public Tensor directionAttrs(LabeledStack s, Tensor direction) {
        int batch = s.stack().size(1), d = s.stack().size(3);
        if (direction.rank() == 1 && direction.size(0) == d) direction = direction.unsqueeze(0).expand(batch, d);
        if (direction.rank() != 2 || direction.size(0) != batch || direction.size(1) != d) {
            throw new IllegalArgumentException("direction must be [" + d + "] or [" + batch + ", " + d + "] but is "
                    + java.util.Arrays.toString(direction.shape()));
        }
        return Tensor.einsum("cbpm,bm->cbp", s.stack(), direction);
    }

    /**
     * The residual directions that the unembedding reads for {@code tokens}: W_U[:, t] for each.
     *
     * @return [n, d_model]
     */
    public Tensor residDirections(int... tokens) {
        for (int t : tokens) {
            if (t < 0 || t >= c.dVocab()) {
                throw new IllegalArgumentException("token id " + t + " outside the vocabulary (0.." + (c.dVocab() - 1)
                        + ")");
            }
        }
        return w.wU().detach().indexSelect(1, Tensor.indices(tokens)).transpose(0, 1);
    }

    private void checkLayer(int layer) {
        if (layer < 0 || layer > c.nLayers()) {
            throw new IllegalArgumentException("layer " + layer + " outside 0.." + c.nLayers());
        }
    }

    private static LabeledStack stack(List<Tensor> parts, List<String> labels) {
        if (parts.isEmpty()) throw new IllegalArgumentException("nothing to stack (layer 0 has no earlier layers)");
        return new LabeledStack(Tensor.stack(0, parts.toArray(Tensor[]::new)), labels);
    }

    private static int[] range(int n) {
        int[] r = new int[n];
        for (int i = 0; i < n; i++) r[i] = i;
        return r;
    }
}
