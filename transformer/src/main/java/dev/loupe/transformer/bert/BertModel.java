package dev.loupe.transformer.bert;

import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.hooks.ActivationCache;
import dev.loupe.transformer.hooks.HookNames;
import dev.loupe.transformer.hooks.HookRun;
import dev.loupe.transformer.hooks.Hooks;
import dev.loupe.weights.AtomicFiles;
import dev.loupe.weights.Checkpoint;
import dev.loupe.weights.Checkpoints;
import dev.loupe.weights.HfConfig;
import dev.loupe.weights.SafeTensors;
import dev.loupe.weights.WeightFileException;
import dev.loupe.weights.json.Json;
import dev.loupe.weights.onnx.OnnxModel;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A BERT encoder whose every activation passes through a named hook point, TransformerLens {@code HookedEncoder}'s
 * names where it has one. Shapes (b = batch, p = pos, m = d_model):
 * <pre>
 * embed.hook_embed, embed.hook_pos_embed, embed.hook_token_type_embed   [b, p, m]
 * embed.ln.hook_scale [b, p, 1], embed.ln.hook_normalized [b, p, m]
 * hook_full_embed                                           [b, p, m]  (after the embedding LayerNorm)
 * blocks.L.hook_resid_pre                                   [b, p, m]
 * blocks.L.hook_q_input | hook_k_input | hook_v_input (optional)   [b, p, head, m]
 * blocks.L.attn.hook_q | hook_k | hook_v | hook_z           [b, p, head, d_head]
 * blocks.L.attn.hook_attn_scores | hook_pattern             [b, head, query_pos, key_pos] (scores scaled, padding
 *                                                           keys at -inf)
 * blocks.L.attn.hook_result (optional)                      [b, p, head, m]
 * blocks.L.hook_attn_out                                    [b, p, m]
 * blocks.L.hook_resid_mid                                   [b, p, m]  (resid_pre + attn_out, before ln1)
 * blocks.L.ln1.hook_scale [b, p, 1], blocks.L.ln1.hook_normalized [b, p, m]   (post-LN: ln1 follows attention)
 * blocks.L.mlp.hook_pre | hook_post                         [b, p, d_mlp]
 * blocks.L.hook_mlp_out                                     [b, p, m]
 * blocks.L.hook_resid_post                                  [b, p, m]  (ln1 output + mlp_out, before ln2)
 * blocks.L.ln2.hook_scale [b, p, 1], blocks.L.ln2.hook_normalized [b, p, m]
 * blocks.L.hook_normalized_resid_post                       [b, p, m]  (the block's output)
 * pooler.hook_pooler_out (when the weights have a pooler)   [b, m]     (tanh(h[CLS] W + b))
 * hook_pooled                                               [b, m]     (Loupe: the pooled sentence embedding,
 *                                                                      before normalisation)
 * hook_normalized_embedding (when the pooling normalises)   [b, m]     (Loupe: the L2-normalised embedding)
 * mlm_head.ln.hook_scale [b, p, 1], mlm_head.ln.hook_normalized [b, p, m]   ({@link #runMaskedLm} only)
 * </pre>
 * The model holds only its config, weights and pooling: hooks and caches are given per call, so one model may serve
 * any number of calls from any number of threads, as long as no call edits the weights.
 */
public final class BertModel {
    public static final String EMBED = "embed.hook_embed";
    public static final String POS_EMBED = "embed.hook_pos_embed";
    public static final String TOKEN_TYPE_EMBED = "embed.hook_token_type_embed";
    public static final String FULL_EMBED = "hook_full_embed";
    public static final String POOLER_OUT = "pooler.hook_pooler_out";
    public static final String POOLED = "hook_pooled";
    public static final String NORMALIZED_EMBEDDING = "hook_normalized_embedding";

    /**
     * What a call returns.
     *
     * @param hidden    last hidden state [batch, pos, d_model]
     * @param embedding the sentence embedding [batch, d_model]: {@link #pooling()} applied to {@code hidden}
     * @param pooler    BERT's pooler output [batch, d_model], or null when the weights have no pooler
     * @param logits    MLM logits [batch, pos, d_vocab] from {@link #runMaskedLm}, else null
     * @param cache     what the call's hooks asked to cache
     */
    public record Output(Tensor hidden, Tensor embedding, Tensor pooler, Tensor logits, ActivationCache cache) {
    }

    private final BertConfig config;
    private final BertWeights weights;
    private final Pooling pooling;
    private final List<String> hookPoints;
    private final Set<String> hookPointSet;

    /** A model over weights in memory, with the sentence pooling {@code pooling}. */
    public BertModel(BertConfig config, BertWeights weights, Pooling pooling) {
        if (weights.blocks().size() != config.nLayers()) {
            throw new IllegalArgumentException(weights.blocks().size() + " blocks of weights for a config of "
                    + config.nLayers() + " layers");
        }
        if (weights.nHeads() != config.nHeads()) {
            throw new IllegalArgumentException("weights for " + weights.nHeads() + " heads, config for " + config.nHeads());
        }
        this.config = config;
        this.weights = weights;
        this.pooling = java.util.Objects.requireNonNull(pooling, "pooling");
        this.hookPoints = Collections.unmodifiableList(points(config, weights, pooling));
        this.hookPointSet = Collections.unmodifiableSet(new LinkedHashSet<>(hookPoints));
    }

    /**
     * Loads a Hugging Face BERT folder ({@code config.json} + {@code model.safetensors}, a sharded index or
     * {@code pytorch_model.bin}; names with or without {@code bert.}; MLM head from {@code cls.predictions.*} when
     * present) or a sentence-transformers folder ({@code modules.json} naming the Transformer folder, its Pooling
     * config and an optional Normalize). A plain HF folder pools by mean without normalisation. Weights are copied to
     * the heap.
     *
     * @throws IOException (a {@link WeightFileException} naming the file and tensor) for a missing or malformed file,
     *                     a config that is not BERT, or a tensor whose shape does not match the config
     */
    public static BertModel load(Path folder) throws IOException {
        BertLoader.SentenceTransformer st = BertLoader.sentenceTransformer(folder);
        BertConfig config;
        try {
            config = BertConfig.from(HfConfig.read(st.modelFolder()));
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
        try (Checkpoint ckpt = Checkpoints.open(st.modelFolder())) {
            return new BertModel(config, BertLoader.load(config, ckpt), st.pooling());
        }
    }

    /**
     * Loads an exported BERT encoder from an {@code .onnx} file (weights recovered by walking the graph; see
     * {@code BertOnnx}). A {@code config.json} in the file's folder or its parent (Hugging Face's {@code onnx/}
     * layout) supplies the config; otherwise it is read from the graph. The pooling comes from a sentence-transformers
     * {@code modules.json} in the same places, else {@code pooling} when not null, else mean without normalisation.
     *
     * @throws IOException for a malformed file, or a graph that is not a BERT encoder
     */
    public static BertModel loadOnnx(Path file, Pooling pooling) throws IOException {
        OnnxModel onnx = OnnxModel.read(file);
        BertConfig known = null;
        Pooling found = null;
        Path dir = file.toAbsolutePath().getParent();
        for (Path d = dir; d != null && (d.equals(dir) || d.equals(dir.getParent())); d = d.getParent()) {
            if (known == null && Files.exists(d.resolve("config.json"))) {
                try {
                    known = BertConfig.from(HfConfig.read(d));
                } catch (IllegalArgumentException e) {
                    throw new IOException(e.getMessage(), e);
                }
            }
            if (found == null && Files.exists(d.resolve("modules.json"))) found = BertLoader.sentenceTransformer(d).pooling();
        }
        Pooling p = found != null ? found : pooling != null ? pooling : new Pooling(Pooling.Mode.MEAN, false);
        BertOnnx.Loaded l = BertOnnx.load(onnx, known);
        return new BertModel(l.config(), l.weights(), p);
    }

    /**
     * A built-in sentence encoder, read from the ONNX file its Maven artifact bundles (no network):
     * {@code "minilm"} (sentence-transformers/all-MiniLM-L6-v2: 6 layers, d_model 384, mean pooling, normalised) or
     * {@code "bge-small"} (BAAI/bge-small-en-v1.5: 12 layers, d_model 384, [CLS] pooling, normalised). Each call reads
     * the model anew (~1 s); keep the instance.
     *
     * @throws IllegalArgumentException for another name
     */
    public static BertModel builtIn(String name) throws IOException {
        BuiltIn b = BuiltIn.named(name);
        byte[] bytes;
        try (InputStream in = b.open(b.onnxResource())) {
            bytes = in.readAllBytes();
        }
        BertOnnx.Loaded l = BertOnnx.load(OnnxModel.read(bytes, Path.of(b.onnxResource())), null);
        return new BertModel(l.config(), l.weights(), b.pooling());
    }

    /**
     * Writes this model as a Hugging Face {@code BertForMaskedLM} folder ({@code config.json} + {@code
     * model.safetensors}, names without {@code bert.}, a tied decoder left out) that {@link #load} reads back. The
     * pooling is not written: the folder loads with mean pooling, unnormalised.
     */
    public void save(Path folder) throws IOException {
        Files.createDirectories(folder);
        // Hugging Face refuses safetensors files whose metadata lacks a known "format".
        SafeTensors.write(folder.resolve("model.safetensors"), weights.named(), Map.of("format", "pt"));
        AtomicFiles.writeString(folder.resolve("config.json"), Json.write(config.toHfConfig(), true) + "\n");
    }

    public BertConfig config() {
        return config;
    }

    public BertWeights weights() {
        return weights;
    }

    /** How {@link Output#embedding()} is pooled from the last hidden state. */
    public Pooling pooling() {
        return pooling;
    }

    /** Every hook point of this model, in forward order, optional ones included, MLM-head ones last (unmodifiable). */
    public List<String> hookPoints() {
        return hookPoints;
    }

    /** The device the weights live on, where every call computes. */
    public dev.loupe.tensor.Device device() {
        return weights.device();
    }

    /**
     * This model on {@code device} (this model itself when it is already there), weights copied by
     * {@link BertWeights#to}. Calls then compute there: the input's ids, types and mask are uploaded once per call,
     * and outputs and cached activations stay on the device. This model stays usable.
     */
    public BertModel to(dev.loupe.tensor.Device device) {
        return device.equals(device()) ? this : new BertModel(config, weights.to(device), pooling);
    }

    /** The sentence embeddings [batch, d_model] of a plain forward pass. */
    public Tensor embed(BertInput input) {
        return run(input, Hooks.none()).embedding();
    }

    /**
     * One encoder pass with {@code hooks} active for this call only.
     *
     * @return hidden state, sentence embedding, pooler output and cache; {@link Output#logits()} is null
     * @throws IllegalArgumentException for an id outside the vocabulary or token types, a sequence longer than
     *                                  {@code max_position_embeddings}, or a hook on a point this model lacks
     */
    public Output run(BertInput input, Hooks hooks) {
        return run(input, hooks, false);
    }

    /**
     * As {@link #run}, also computing the masked-language-model logits [batch, pos, d_vocab].
     *
     * @throws IllegalStateException when the weights have no MLM head (sentence-transformers and ONNX exports)
     */
    public Output runMaskedLm(BertInput input, Hooks hooks) {
        if (weights.mlm() == null) throw new IllegalStateException("this model has no masked-LM head (cls.predictions)");
        return run(input, hooks, true);
    }

    private Output run(BertInput input, Hooks hooks, boolean mlm) {
        HookRun run = hooks.open(hookPointSet);
        BertForward f = new BertForward(this, input, run);
        Tensor hidden = f.encode();
        Tensor pooler = f.pooler(hidden);
        Tensor embedding = f.sentenceEmbedding(hidden, pooling);
        Tensor logits = mlm ? f.maskedLm(hidden) : null;
        return new Output(hidden, embedding, pooler, logits, run.cache());
    }

    private static List<String> points(BertConfig c, BertWeights w, Pooling pooling) {
        List<String> p = new ArrayList<>(List.of(EMBED, POS_EMBED, TOKEN_TYPE_EMBED, "embed.ln.hook_scale",
                "embed.ln.hook_normalized", FULL_EMBED));
        for (int l = 0; l < c.nLayers(); l++) {
            p.add(HookNames.residPre(l));
            for (String s : List.of("hook_q_input", "hook_k_input", "hook_v_input")) p.add(HookNames.block(l, s));
            for (String s : List.of("hook_q", "hook_k", "hook_v", "hook_attn_scores", "hook_pattern", "hook_z",
                    "hook_result")) {
                p.add(HookNames.attn(l, s));
            }
            p.add(HookNames.attnOut(l));
            p.add(HookNames.residMid(l));
            p.add(HookNames.block(l, "ln1.hook_scale"));
            p.add(HookNames.block(l, "ln1.hook_normalized"));
            p.add(HookNames.mlp(l, "hook_pre"));
            p.add(HookNames.mlp(l, "hook_post"));
            p.add(HookNames.mlpOut(l));
            p.add(HookNames.residPost(l));
            p.add(HookNames.block(l, "ln2.hook_scale"));
            p.add(HookNames.block(l, "ln2.hook_normalized"));
            p.add(HookNames.block(l, "hook_normalized_resid_post"));
        }
        if (w.pooler() != null) p.add(POOLER_OUT);
        p.add(POOLED);
        if (pooling.normalize()) p.add(NORMALIZED_EMBEDDING);
        if (w.mlm() != null) {
            p.add("mlm_head.ln.hook_scale");
            p.add("mlm_head.ln.hook_normalized");
        }
        return p;
    }
}
