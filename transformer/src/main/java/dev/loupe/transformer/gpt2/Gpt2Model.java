package dev.loupe.transformer.gpt2;

import dev.loupe.tensor.Device;
import dev.loupe.tensor.Shapes;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.hooks.ActivationCache;
import dev.loupe.transformer.hooks.HookNames;
import dev.loupe.transformer.hooks.HookRun;
import dev.loupe.transformer.hooks.Hooks;
import dev.loupe.weights.AtomicFiles;
import dev.loupe.weights.Checkpoint;
import dev.loupe.weights.Checkpoints;
import dev.loupe.weights.HfConfig;
import dev.loupe.weights.SafeTensors;
import dev.loupe.weights.json.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A GPT-2 or GPT-Neo decoder whose every activation passes through a named hook point (see {@link HookNames} for the
 * names and shapes). The model holds only its config and weights: hooks and caches are given per call, so one model
 * may serve any number of calls, from any number of threads, as long as no call edits the weights.
 *
 * <p>Weights loaded {@linkplain Placement#MAPPED mapped} stay views over the checkpoint's files until
 * {@link #close()}.
 */
public final class Gpt2Model implements AutoCloseable {
    /** Where loaded weights live. */
    public enum Placement {
        /** Float32 copies on the heap: fastest to compute on, needs the heap. */
        HEAP,
        /** Views over the memory-mapped files, widened as ops read them: models larger than the heap. */
        MAPPED,
        /** HEAP when the float32 weights fit in a quarter of the maximum heap, else MAPPED. */
        AUTO
    }

    /** What a call returns: logits [batch, pos, d_vocab] and the call's cache (empty unless asked for). */
    public record Output(Tensor logits, ActivationCache cache) {
    }

    /**
     * Rows that join a {@linkplain #resume resumed} pass at block {@code layer}, with {@code residPre}
     * [rows, new_pos, d_model] as their {@code blocks.{layer}.hook_resid_pre}; layer = n_layers means straight to the
     * final LayerNorm.
     */
    public record Entry(int layer, Tensor residPre) {
        public Entry {
            if (layer < 0) throw new IllegalArgumentException("entry layer " + layer + " is negative");
            if (residPre == null) throw new IllegalArgumentException("entry at layer " + layer + " has no residPre");
        }
    }

    /** What a {@linkplain #resume resumed} pass returns. */
    public enum Readout {
        /** Logits at every new position: [batch, new_pos, d_vocab]. */
        LOGITS,
        /** Logits at the last position only: [batch, 1, d_vocab]. */
        LAST_LOGITS,
        /**
         * No logits ({@link Output#logits()} is null): the pass stops at the final LayerNorm of the last position,
         * whose output a cached {@code ln_final.hook_normalized} [batch, 1, d_model] holds, so that the results of
         * many passes can go through {@link #unembed} together (one pass over the unembedding, not one per pass).
         */
        LAST_NORMALIZED
    }

    private final Gpt2Config config;
    private final Gpt2Weights weights;
    private final Checkpoint checkpoint; // open while mapped weights view it; null otherwise
    private final List<String> hookPoints;
    private final Set<String> hookPointSet;

    /** A model over weights in memory (e.g. {@link Gpt2Weights#init} or processed weights). */
    public Gpt2Model(Gpt2Config config, Gpt2Weights weights) {
        this(config, weights, null);
    }

    private Gpt2Model(Gpt2Config config, Gpt2Weights weights, Checkpoint checkpoint) {
        if (weights.blocks().size() != config.nLayers()) {
            throw new IllegalArgumentException(weights.blocks().size() + " blocks of weights for a config of "
                    + config.nLayers() + " layers");
        }
        this.config = config;
        this.weights = weights;
        this.checkpoint = checkpoint;
        this.hookPoints = Collections.unmodifiableList(points(config));
        this.hookPointSet = Collections.unmodifiableSet(new LinkedHashSet<>(hookPoints));
    }

    /** Loads a Hugging Face folder ({@code config.json} and weights) with {@link Placement#AUTO}. */
    public static Gpt2Model load(Path folder) throws IOException {
        return load(folder, Placement.AUTO);
    }

    /**
     * Loads a Hugging Face GPT-2 or GPT-Neo folder: {@code config.json} plus {@code model.safetensors}, a sharded
     * {@code model.safetensors.index.json}, or {@code pytorch_model.bin} (read without running pickled code).
     *
     * @throws IOException (a {@link dev.loupe.weights.WeightFileException} naming the file and tensor) for a missing,
     *                     truncated or malformed file, or a tensor whose shape does not match the config
     */
    public static Gpt2Model load(Path folder, Placement placement) throws IOException {
        Gpt2Config config;
        try {
            config = Gpt2Config.from(HfConfig.read(folder));
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
        Checkpoint ckpt = Checkpoints.open(folder);
        try {
            boolean heap = switch (placement) {
                case HEAP -> true;
                case MAPPED -> false;
                case AUTO -> floatBytes(ckpt) <= Runtime.getRuntime().maxMemory() / 4;
            };
            Gpt2Weights w = Gpt2Loader.load(config, ckpt, heap);
            if (heap) {
                ckpt.close();
                return new Gpt2Model(config, w, null);
            }
            return new Gpt2Model(config, w, ckpt);
        } catch (IOException | RuntimeException e) {
            ckpt.close();
            throw e;
        }
    }

    /**
     * Writes this model as a Hugging Face GPT-2 folder that {@link #load} reads back bit-identically:
     * {@code config.json} ({@link Gpt2Config#toHfConfig(boolean)}) and {@code model.safetensors} (float32,
     * {@link Gpt2Weights#named()}: GPT-2 names, Conv1D [in, out] layout, a tied {@code lm_head} not stored), each
     * written to a temporary file and moved into place. Creates {@code folder} if needed; replaces those two files.
     *
     * @throws UnsupportedOperationException for a GPT-Neo model or one with folded LayerNorms, which a GPT-2 folder
     *                                       cannot describe
     */
    public void save(Path folder) throws IOException {
        if (config.family() != Gpt2Config.Family.GPT2 || config.normalization() != Gpt2Config.Normalization.LN) {
            throw new UnsupportedOperationException("save writes GPT-2 folders; this model is " + config.family()
                    + " with " + config.normalization() + " normalization");
        }
        Files.createDirectories(folder);
        // Hugging Face refuses safetensors files whose metadata lacks a known "format".
        SafeTensors.write(folder.resolve("model.safetensors"), weights.named(), Map.of("format", "pt"));
        AtomicFiles.writeString(folder.resolve("config.json"), Json.write(config.toHfConfig(weights.tied()), true) + "\n");
    }

    private static long floatBytes(Checkpoint ckpt) {
        long n = 0;
        for (String name : ckpt.names()) n += 4L * Shapes.numel(ckpt.shape(name));
        return n;
    }

    public Gpt2Config config() {
        return config;
    }

    public Gpt2Weights weights() {
        return weights;
    }

    /** The device the weights live on, where every call computes. */
    public Device device() {
        return weights.device();
    }

    /**
     * This model on {@code device} (this model itself when it is already there): the weights copied by
     * {@link Gpt2Weights#to}, mapped ones read once. Calls then compute there: token ids, positions and attention masks
     * are built on the host from the {@link TokenBatch} and uploaded once per call, and logits, cached activations and
     * gradients stay on the device ({@code cache.get(name).to(Device.CPU)} brings one back). This model stays usable
     * (and, when mapped, open until {@link #close()}).
     */
    public Gpt2Model to(Device device) {
        return device.equals(device()) ? this : new Gpt2Model(config, weights.to(device), null);
    }

    /** True when the weights are views over memory-mapped files. */
    public boolean mapped() {
        return checkpoint != null;
    }

    /** Every hook point of this model, in forward order, optional ones included (unmodifiable). */
    public List<String> hookPoints() {
        return hookPoints;
    }

    /** Logits [batch, pos, d_vocab] of a plain forward pass. */
    public Tensor forward(TokenBatch batch) {
        return run(batch, Hooks.none()).logits();
    }

    /**
     * One forward pass with {@code hooks} active for this call only.
     *
     * @param batch tokens [batch, pos] with their mask
     * @return logits [batch, pos, d_vocab] and the cache {@code hooks} asked for
     * @throws IllegalArgumentException for a token id outside the vocabulary, a sequence longer than the context, or
     *                                  a hook on a point this model does not have
     */
    public Output run(TokenBatch batch, Hooks hooks) {
        return run(batch, hooks, null);
    }

    /**
     * A forward pass over {@code batch} as the continuation of the sequences in {@code cache} (which this call
     * extends, if it succeeds). Hook points see only the new positions, except {@code hook_attn_scores} and
     * {@code hook_pattern}, whose key axis spans cached and new positions: [batch, head, new_pos, past + new_pos].
     *
     * @param cache from {@link #newKvCache()}, or null for none
     */
    public Output run(TokenBatch batch, Hooks hooks, KvCache cache) {
        HookRun run = hooks.open(hookPointSet);
        Tensor logits = new Gpt2Forward(this, batch, run, cache).run();
        return new Output(logits, run.cache());
    }

    /**
     * A forward pass that starts inside the stack: no embedding, and no block below the first entry's layer. Rows join
     * at their entry's layer (entries in non-decreasing layer order; a block's rows are the entries so far, in list
     * order), so each block computes only for rows whose residual stream has changed — the engine of incremental
     * activation patching. The cache is read (keys and values of earlier positions, [batch, past, head, d_head] per
     * layer, rows in the same order; layers below the first entry may be absent), never extended.
     *
     * <p>Hook points keep their names and meanings but see, in block l, only the rows that have joined by l:
     * [rows_l, new_pos, ...]; {@code hook_embed} and {@code hook_pos_embed} are not visited. Unless the readout is
     * {@link Readout#LOGITS}, {@code ln_final}'s points cover the last new position only.
     *
     * @param batch            the mask [batch, new_pos] of the new positions (their tokens are not read; rows in
     *                         entry order)
     * @param cache            earlier positions from {@link KvCache#of}, or null when the new positions start at 0
     * @param entries          where rows join; their residPre rows sum to {@code batch.batch()}
     * @param readout          logits at every position, at the last (the one a last-token metric reads), or none
     * @return logits as the readout says (rows in entry order), and the cache {@code hooks} asked for
     * @throws IllegalArgumentException for entries out of order or of the wrong shape, or a cache of another batch
     */
    public Output resume(TokenBatch batch, Hooks hooks, KvCache cache, List<Entry> entries, Readout readout) {
        HookRun run = hooks.open(hookPointSet);
        Tensor logits = new Gpt2Forward(this, batch, run, cache, List.copyOf(entries), readout).run();
        return new Output(logits, run.cache());
    }

    /**
     * The unembedding: the final LayerNorm's output (as at {@code ln_final.hook_normalized}) [..., d_model] →
     * logits [..., d_vocab], with b_U when the model has one.
     */
    public Tensor unembed(Tensor normalized) {
        if (normalized.rank() < 1 || normalized.size(-1) != config.dModel()) {
            throw new IllegalArgumentException("unembed expects [..., " + config.dModel() + "] but got "
                    + java.util.Arrays.toString(normalized.shape()));
        }
        return Gpt2Forward.unembed(weights, normalized);
    }

    /** An empty KV cache for {@link #run(TokenBatch, Hooks, KvCache)}. */
    public KvCache newKvCache() {
        return new KvCache(config.nLayers());
    }

    /** Releases the memory mappings of mapped weights (after which their tensors cannot be read). Idempotent. */
    @Override
    public void close() {
        if (checkpoint != null) checkpoint.close();
    }

    private static List<String> points(Gpt2Config c) {
        List<String> p = new ArrayList<>(List.of(HookNames.EMBED, HookNames.POS_EMBED));
        for (int l = 0; l < c.nLayers(); l++) {
            p.add(HookNames.residPre(l));
            for (String s : List.of("hook_q_input", "hook_k_input", "hook_v_input")) p.add(HookNames.block(l, s));
            p.add(HookNames.block(l, "ln1.hook_scale"));
            p.add(HookNames.block(l, "ln1.hook_normalized"));
            for (String s : List.of("hook_q", "hook_k", "hook_v", "hook_attn_scores", "hook_pattern", "hook_z",
                    "hook_result")) {
                p.add(HookNames.attn(l, s));
            }
            p.add(HookNames.attnOut(l));
            if (!c.attnOnly()) {
                p.add(HookNames.residMid(l));
                p.add(HookNames.mlpIn(l));
                p.add(HookNames.block(l, "ln2.hook_scale"));
                p.add(HookNames.block(l, "ln2.hook_normalized"));
                p.add(HookNames.mlp(l, "hook_pre"));
                p.add(HookNames.mlp(l, "hook_post"));
                p.add(HookNames.mlpOut(l));
            }
            p.add(HookNames.residPost(l));
        }
        p.add(HookNames.LN_FINAL_SCALE);
        p.add(HookNames.LN_FINAL_NORMALIZED);
        return p;
    }
}
