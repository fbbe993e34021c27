package dev.loupe.transformer.gpt2;

import dev.loupe.transformer.Activation;
import dev.loupe.weights.HfConfig;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The shape of a GPT-2-family decoder: GPT-2 (gpt2, -medium, -large, -xl, distilgpt2) and GPT-Neo (TinyStories,
 * gpt-neo-125M), which differ in attention (Neo: no 1/√d_head scaling, no q/k/v bias, local attention on some
 * layers) and in how their files store weights.
 *
 * @param family        which file layout and attention rules
 * @param nLayers       blocks
 * @param dModel        residual width
 * @param nHeads        attention heads per block
 * @param dHead         width of one head (dModel / nHeads)
 * @param dMlp          MLP hidden width (0 for attention-only models)
 * @param dVocab        vocabulary size
 * @param nCtx          longest sequence (positions in the position embedding)
 * @param lnEps         LayerNorm epsilon
 * @param activation    MLP activation
 * @param attnOnly      blocks without MLP (TransformerLens's attn-only models: no ln2, no hook_resid_mid)
 * @param scaleAttn     divide attention scores by √dHead (GPT-2) or not (GPT-Neo)
 * @param attention     kind of attention per layer (global, or local with {@code window})
 * @param window        local attention window: a query sees keys at most {@code window - 1} positions back
 * @param normalization whether LayerNorms carry their weight and bias ({@code LN}) or had them folded into the
 *                      following weights ({@code LN_PRE}, after {@link WeightProcessing#foldLayerNorm})
 */
public record Gpt2Config(Family family, int nLayers, int dModel, int nHeads, int dHead, int dMlp, int dVocab, int nCtx,
                         float lnEps, Activation activation, boolean attnOnly, boolean scaleAttn,
                         List<AttentionKind> attention, int window, Normalization normalization) {

    public enum Family { GPT2, GPT_NEO }

    public enum AttentionKind { GLOBAL, LOCAL }

    public enum Normalization { LN, LN_PRE }

    public Gpt2Config {
        if (nLayers < 1 || dModel < 1 || nHeads < 1 || dVocab < 1 || nCtx < 1) {
            throw new IllegalArgumentException("config sizes must be positive: layers=" + nLayers + ", d_model="
                    + dModel + ", heads=" + nHeads + ", vocab=" + dVocab + ", n_ctx=" + nCtx);
        }
        if (nHeads * dHead != dModel) {
            throw new IllegalArgumentException("heads (" + nHeads + ") x d_head (" + dHead + ") must equal d_model ("
                    + dModel + ")");
        }
        if (!attnOnly && dMlp < 1) throw new IllegalArgumentException("d_mlp must be positive, got " + dMlp);
        if (attention.size() != nLayers) {
            throw new IllegalArgumentException(attention.size() + " attention kinds for " + nLayers + " layers");
        }
        if (attention.contains(AttentionKind.LOCAL) && window < 1) {
            throw new IllegalArgumentException("local attention needs a window >= 1, got " + window);
        }
        attention = List.copyOf(attention);
    }

    /** A GPT-2 of the given size with GPT-2's defaults (GELU-tanh, ε = 1e-5, d_mlp = 4·d_model). */
    public static Gpt2Config gpt2(int nLayers, int dModel, int nHeads, int dVocab, int nCtx) {
        return new Gpt2Config(Family.GPT2, nLayers, dModel, nHeads, dModel / nHeads, 4 * dModel, dVocab, nCtx, 1e-5f,
                Activation.GELU_TANH, false, true, Collections.nCopies(nLayers, AttentionKind.GLOBAL), 0,
                Normalization.LN);
    }

    /** The same model without MLPs (TransformerLens's attn-only models). */
    public Gpt2Config attentionOnly() {
        return new Gpt2Config(family, nLayers, dModel, nHeads, dHead, 0, dVocab, nCtx, lnEps, activation, true,
                scaleAttn, attention, window, normalization);
    }

    Gpt2Config withNormalization(Normalization n) {
        return new Gpt2Config(family, nLayers, dModel, nHeads, dHead, dMlp, dVocab, nCtx, lnEps, activation, attnOnly,
                scaleAttn, attention, window, n);
    }

    /**
     * Reads a Hugging Face {@code config.json} of {@code model_type} {@code gpt2} or {@code gpt_neo}.
     *
     * @throws IllegalArgumentException for another model type or options this implementation does not support
     */
    public static Gpt2Config from(HfConfig c) {
        String type = c.getString("model_type", "gpt2");
        return switch (type) {
            case "gpt2" -> fromGpt2(c);
            case "gpt_neo" -> fromNeo(c);
            default -> throw new IllegalArgumentException(c.file() + ": model_type '" + type + "' is not a GPT-2 "
                    + "family model (expected gpt2 or gpt_neo)");
        };
    }

    private static Gpt2Config fromGpt2(HfConfig c) {
        if (c.getBoolean("scale_attn_by_inverse_layer_idx", false) || c.getBoolean("reorder_and_upcast_attn", false)) {
            throw new IllegalArgumentException(c.file() + ": scale_attn_by_inverse_layer_idx and "
                    + "reorder_and_upcast_attn are not supported");
        }
        int layers = c.getInt("n_layer"), d = c.getInt("n_embd"), heads = c.getInt("n_head");
        checkDivisible(c, d, heads);
        boolean attnOnly = c.getBoolean("loupe_attn_only", false);
        int dMlp = attnOnly ? 0 : c.getInt("n_inner", 4 * d);
        return new Gpt2Config(Family.GPT2, layers, d, heads, d / heads, dMlp, c.getInt("vocab_size"),
                c.getInt("n_positions", c.getInt("n_ctx", 1024)), (float) c.getDouble("layer_norm_epsilon", 1e-5),
                Activation.fromConfig(c.getString("activation_function", "gelu_new")), attnOnly,
                c.getBoolean("scale_attn_weights", true), Collections.nCopies(layers, AttentionKind.GLOBAL), 0,
                Normalization.LN);
    }

    private static Gpt2Config fromNeo(HfConfig c) {
        int layers = c.getInt("num_layers"), d = c.getInt("hidden_size"), heads = c.getInt("num_heads");
        checkDivisible(c, d, heads);
        List<AttentionKind> kinds = neoAttentionLayers(c, layers);
        return new Gpt2Config(Family.GPT_NEO, layers, d, heads, d / heads, c.getInt("intermediate_size", 4 * d),
                c.getInt("vocab_size"), c.getInt("max_position_embeddings", 2048),
                (float) c.getDouble("layer_norm_epsilon", 1e-5),
                Activation.fromConfig(c.getString("activation_function", "gelu_new")), false, false, kinds,
                c.getInt("window_size", 256), Normalization.LN);
    }

    /** {@code attention_types}: [[["global", "local"], 6]] expands to 12 alternating layers. */
    @SuppressWarnings("unchecked")
    private static List<AttentionKind> neoAttentionLayers(HfConfig c, int layers) {
        List<AttentionKind> kinds = new ArrayList<>();
        Object types = c.values().get("attention_types");
        if (types instanceof List<?> groups) {
            for (Object g : groups) {
                if (!(g instanceof List<?> pair) || pair.size() != 2 || !(pair.get(0) instanceof List<?> pattern)
                        || !(pair.get(1) instanceof Number n)) {
                    throw new IllegalArgumentException(c.file() + ": attention_types entry " + g
                            + " is not [[kinds...], repeat]");
                }
                for (int r = 0; r < n.intValue(); r++) for (Object k : pattern) kinds.add(kind(c, k));
            }
        } else if (c.values().get("attention_layers") instanceof List<?> list) {
            for (Object k : list) kinds.add(kind(c, k));
        } else {
            throw new IllegalArgumentException(c.file() + ": a gpt_neo config needs attention_types or attention_layers");
        }
        if (kinds.size() != layers) {
            throw new IllegalArgumentException(c.file() + ": attention_types gives " + kinds.size()
                    + " layers but num_layers is " + layers);
        }
        return kinds;
    }

    private static AttentionKind kind(HfConfig c, Object k) {
        return switch (String.valueOf(k)) {
            case "global" -> AttentionKind.GLOBAL;
            case "local" -> AttentionKind.LOCAL;
            default -> throw new IllegalArgumentException(c.file() + ": unknown attention type '" + k + "'");
        };
    }

    private static void checkDivisible(HfConfig c, int d, int heads) {
        if (heads < 1 || d % heads != 0) {
            throw new IllegalArgumentException(c.file() + ": hidden size " + d + " is not divisible by " + heads
                    + " heads");
        }
    }

    /**
     * This config as a Hugging Face GPT-2 {@code config.json} object (what {@code torch_gpt2.py} and Hugging Face
     * load). GPT-Neo models are written as GPT-Neo configs.
     *
     * @param tiedEmbeddings whether the weights tie the unembedding to {@code wte} ({@code tie_word_embeddings}; an
     *                       untied model's {@code lm_head.weight} is ignored by Hugging Face when this says true)
     */
    public Map<String, Object> toHfConfig(boolean tiedEmbeddings) {
        Map<String, Object> m = new LinkedHashMap<>();
        if (family == Family.GPT2) {
            m.put("model_type", "gpt2");
            m.put("architectures", List.of("GPT2LMHeadModel"));
            m.put("n_layer", nLayers);
            m.put("n_embd", dModel);
            m.put("n_head", nHeads);
            if (!attnOnly) m.put("n_inner", dMlp);
            m.put("vocab_size", dVocab);
            m.put("n_positions", nCtx);
            m.put("n_ctx", nCtx);
            m.put("scale_attn_weights", scaleAttn);
            if (attnOnly) m.put("loupe_attn_only", true);
        } else {
            m.put("model_type", "gpt_neo");
            m.put("architectures", List.of("GPTNeoForCausalLM"));
            m.put("num_layers", nLayers);
            m.put("hidden_size", dModel);
            m.put("num_heads", nHeads);
            m.put("intermediate_size", dMlp);
            m.put("vocab_size", dVocab);
            m.put("max_position_embeddings", nCtx);
            m.put("window_size", window);
            List<Object> types = new ArrayList<>(); // one [[kind], 1] group per layer: any pattern round-trips
            for (AttentionKind k : attention) types.add(List.of(List.of(k.name().toLowerCase(java.util.Locale.ROOT)), 1));
            m.put("attention_types", types);
        }
        m.put("layer_norm_epsilon", Double.parseDouble(Float.toString(lnEps))); // 1e-5, not 9.999999747378752e-6
        m.put("activation_function", activation.configName());
        m.put("tie_word_embeddings", tiedEmbeddings);
        return m;
    }
}
