package dev.loupe.transformer.bert;

import dev.loupe.transformer.Activation;
import dev.loupe.weights.HfConfig;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The shape of a BERT encoder (post-LayerNorm blocks, learned absolute positions, token types), as Hugging Face's
 * {@code config.json} for {@code model_type} {@code bert} describes it.
 *
 * @param nLayers    blocks ({@code num_hidden_layers})
 * @param dModel     residual width ({@code hidden_size})
 * @param nHeads     attention heads per block ({@code num_attention_heads})
 * @param dHead      width of one head (dModel / nHeads)
 * @param dMlp       MLP hidden width ({@code intermediate_size})
 * @param dVocab     vocabulary size ({@code vocab_size})
 * @param nCtx       longest sequence ({@code max_position_embeddings})
 * @param nTypes     token types, i.e. segments ({@code type_vocab_size})
 * @param lnEps      LayerNorm epsilon ({@code layer_norm_eps})
 * @param activation MLP and MLM-head activation ({@code hidden_act}; BERT's {@code gelu} is the exact erf form)
 */
public record BertConfig(int nLayers, int dModel, int nHeads, int dHead, int dMlp, int dVocab, int nCtx, int nTypes,
                         float lnEps, Activation activation) {

    public BertConfig {
        if (nLayers < 1 || dModel < 1 || nHeads < 1 || dMlp < 1 || dVocab < 1 || nCtx < 1 || nTypes < 1) {
            throw new IllegalArgumentException("config sizes must be positive: layers=" + nLayers + ", d_model="
                    + dModel + ", heads=" + nHeads + ", d_mlp=" + dMlp + ", vocab=" + dVocab + ", n_ctx=" + nCtx
                    + ", types=" + nTypes);
        }
        if (nHeads * dHead != dModel) {
            throw new IllegalArgumentException("heads (" + nHeads + ") x d_head (" + dHead + ") must equal d_model ("
                    + dModel + ")");
        }
        if (!(lnEps > 0)) throw new IllegalArgumentException("layer_norm_eps must be positive, got " + lnEps);
    }

    /** A BERT of the given size with BERT's defaults (exact GELU, ε = 1e-12, two token types). */
    public static BertConfig bert(int nLayers, int dModel, int nHeads, int dMlp, int dVocab, int nCtx) {
        return new BertConfig(nLayers, dModel, nHeads, dModel / nHeads, dMlp, dVocab, nCtx, 2, 1e-12f, Activation.GELU);
    }

    /**
     * Reads a Hugging Face {@code config.json} of {@code model_type} {@code bert}.
     *
     * @throws IllegalArgumentException for another model type, relative position embeddings, or a hidden size the
     *                                  heads do not divide
     */
    public static BertConfig from(HfConfig c) {
        String type = c.getString("model_type", "bert");
        if (!type.equals("bert")) {
            throw new IllegalArgumentException(c.file() + ": model_type '" + type + "' is not a BERT encoder (expected "
                    + "bert)");
        }
        String positions = c.getString("position_embedding_type", "absolute");
        if (!positions.equals("absolute")) {
            throw new IllegalArgumentException(c.file() + ": position_embedding_type '" + positions + "' is not "
                    + "supported (only absolute)");
        }
        int d = c.getInt("hidden_size"), heads = c.getInt("num_attention_heads");
        if (heads < 1 || d % heads != 0) {
            throw new IllegalArgumentException(c.file() + ": hidden size " + d + " is not divisible by " + heads
                    + " heads");
        }
        return new BertConfig(c.getInt("num_hidden_layers"), d, heads, d / heads, c.getInt("intermediate_size"),
                c.getInt("vocab_size"), c.getInt("max_position_embeddings", 512), c.getInt("type_vocab_size", 2),
                (float) c.getDouble("layer_norm_eps", 1e-12), Activation.fromConfig(c.getString("hidden_act", "gelu")));
    }

    /** This config as a Hugging Face {@code config.json} object. */
    public Map<String, Object> toHfConfig() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model_type", "bert");
        m.put("architectures", List.of("BertForMaskedLM"));
        m.put("num_hidden_layers", nLayers);
        m.put("hidden_size", dModel);
        m.put("num_attention_heads", nHeads);
        m.put("intermediate_size", dMlp);
        m.put("vocab_size", dVocab);
        m.put("max_position_embeddings", nCtx);
        m.put("type_vocab_size", nTypes);
        m.put("layer_norm_eps", (double) lnEps);
        m.put("hidden_act", activation.configName());
        m.put("position_embedding_type", "absolute");
        return m;
    }
}
