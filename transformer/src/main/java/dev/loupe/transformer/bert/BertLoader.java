package dev.loupe.transformer.bert;

import dev.loupe.tensor.Tensor;
import dev.loupe.weights.Checkpoint;
import dev.loupe.weights.HfConfig;
import dev.loupe.weights.WeightFileException;
import dev.loupe.weights.json.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Maps a Hugging Face BERT state dict ({@code BertModel}, {@code BertForMaskedLM}: names with or without the
 * {@code bert.} prefix, MLM head under {@code cls.predictions.}) onto {@link BertWeights}, and reads
 * sentence-transformers' {@code modules.json} + {@code 1_Pooling/config.json}. Linear weights are copied into
 * contiguous [in, out] heap tensors; every shape is checked against the config first. The integer
 * {@code position_ids} buffer is ignored.
 */
final class BertLoader {
    private final BertConfig c;
    private final Checkpoint ckpt;
    private final String prefix;

    private BertLoader(BertConfig c, Checkpoint ckpt) {
        this.c = c;
        this.ckpt = ckpt;
        this.prefix = ckpt.names().contains("bert.embeddings.word_embeddings.weight") ? "bert." : "";
    }

    static BertWeights load(BertConfig c, Checkpoint ckpt) throws WeightFileException {
        return new BertLoader(c, ckpt).load();
    }

    private BertWeights load() throws WeightFileException {
        int d = c.dModel(), m = c.dMlp();
        String e = prefix + "embeddings.";
        Tensor word = get(e + "word_embeddings.weight", c.dVocab(), d);
        List<BertWeights.Block> blocks = new ArrayList<>();
        for (int l = 0; l < c.nLayers(); l++) {
            String p = prefix + "encoder.layer." + l + ".";
            blocks.add(BertWeights.Block.of(
                    linear(p + "attention.self.query.weight", d, d), get(p + "attention.self.query.bias", d),
                    linear(p + "attention.self.key.weight", d, d), get(p + "attention.self.key.bias", d),
                    linear(p + "attention.self.value.weight", d, d), get(p + "attention.self.value.bias", d),
                    linear(p + "attention.output.dense.weight", d, d), get(p + "attention.output.dense.bias", d),
                    get(p + "attention.output.LayerNorm.weight", d), get(p + "attention.output.LayerNorm.bias", d),
                    linear(p + "intermediate.dense.weight", m, d), get(p + "intermediate.dense.bias", m),
                    linear(p + "output.dense.weight", d, m), get(p + "output.dense.bias", d),
                    get(p + "output.LayerNorm.weight", d), get(p + "output.LayerNorm.bias", d)));
        }
        BertWeights.Pooler pooler = null;
        if (has(prefix + "pooler.dense.weight")) {
            pooler = new BertWeights.Pooler(linear(prefix + "pooler.dense.weight", d, d), get(prefix + "pooler.dense.bias", d));
        }
        BertWeights.MlmHead mlm = null;
        String h = "cls.predictions.";
        if (has(h + "transform.dense.weight")) {
            Tensor wU = word.transpose(0, 1);
            if (has(h + "decoder.weight")) {
                Tensor dec = get(h + "decoder.weight", c.dVocab(), d);
                if (!Arrays.equals(dec.toFloatArray(), word.toFloatArray())) wU = dec.transpose(0, 1).contiguous();
            }
            String bias = has(h + "bias") ? h + "bias" : h + "decoder.bias";
            mlm = new BertWeights.MlmHead(linear(h + "transform.dense.weight", d, d), get(h + "transform.dense.bias", d),
                    get(h + "transform.LayerNorm.weight", d), get(h + "transform.LayerNorm.bias", d), wU,
                    get(bias, c.dVocab()));
        }
        return new BertWeights(c.nHeads(), word, get(e + "position_embeddings.weight", c.nCtx(), d),
                get(e + "token_type_embeddings.weight", c.nTypes(), d), get(e + "LayerNorm.weight", d),
                get(e + "LayerNorm.bias", d), blocks, pooler, mlm);
    }

    private boolean has(String name) {
        return ckpt.names().contains(name);
    }

    /** An nn.Linear weight stored [out, in], returned as a contiguous [in, out] heap tensor (one copy, from the file). */
    private Tensor linear(String name, int out, int in) throws WeightFileException {
        return checked(name, out, in).transpose(0, 1).contiguous();
    }

    /** {@code name} copied to the heap, checked to have {@code shape}. */
    private Tensor get(String name, int... shape) throws WeightFileException {
        return ckpt.load(checkedName(name, shape));
    }

    /** {@code name} as the checkpoint's view (no copy), checked to have {@code shape}. */
    private Tensor checked(String name, int... shape) throws WeightFileException {
        return ckpt.get(checkedName(name, shape));
    }

    private String checkedName(String name, int... shape) throws WeightFileException {
        if (!has(name)) {
            String hint = ckpt.skipped().containsKey(name) ? " (stored as " + ckpt.skipped().get(name)
                    + ", not a float type)" : "";
            throw new WeightFileException(ckpt.path(), "missing tensor '" + name + "'" + hint + " for a BERT model "
                    + "with " + c.nLayers() + " layers");
        }
        int[] actual = ckpt.shape(name);
        if (!Arrays.equals(actual, shape)) {
            throw new WeightFileException(ckpt.path(), "tensor '" + name + "' has shape " + Arrays.toString(actual)
                    + " but the config (d_model " + c.dModel() + ", d_mlp " + c.dMlp() + ", vocab " + c.dVocab()
                    + ", n_ctx " + c.nCtx() + ", types " + c.nTypes() + ") needs " + Arrays.toString(shape));
        }
        return name;
    }

    // ---------------------------------------------------------------- sentence-transformers

    /** Where the transformer's own files are and how its output is pooled. */
    record SentenceTransformer(Path modelFolder, Pooling pooling) {
    }

    /**
     * Reads {@code modules.json} (a list of {type, path}) when the folder has one: the Transformer module's folder,
     * the Pooling module's {@code config.json}, and whether a Normalize module follows. A folder without it is a
     * plain Hugging Face model, pooled by mean without normalisation (what sentence-transformers does with one).
     *
     * @throws WeightFileException for modules this implementation cannot run (Dense, several pooling modes ...)
     */
    @SuppressWarnings("unchecked")
    static SentenceTransformer sentenceTransformer(Path folder) throws IOException {
        Path modules = folder.resolve("modules.json");
        if (!Files.exists(modules)) return new SentenceTransformer(folder, new Pooling(Pooling.Mode.MEAN, false));
        Object parsed = Json.parse(Files.readString(modules));
        if (!(parsed instanceof List<?> list)) throw new WeightFileException(modules, "expected a JSON list of modules");
        Path model = folder;
        Pooling.Mode mode = null;
        boolean normalize = false;
        for (Object o : list) {
            if (!(o instanceof Map<?, ?> module) || !(module.get("type") instanceof String type)) {
                throw new WeightFileException(modules, "module entry " + o + " has no type");
            }
            String path = module.get("path") instanceof String s ? s : "";
            String kind = type.substring(type.lastIndexOf('.') + 1);
            switch (kind) {
                case "Transformer" -> model = folder.resolve(path);
                case "Pooling" -> mode = poolingMode(folder.resolve(path).resolve("config.json"));
                case "Normalize" -> normalize = true;
                default -> throw new WeightFileException(modules, "module type '" + type + "' is not supported "
                        + "(supported: Transformer, Pooling, Normalize)");
            }
        }
        if (mode == null) throw new WeightFileException(modules, "no Pooling module");
        return new SentenceTransformer(model, new Pooling(mode, normalize));
    }

    private static Pooling.Mode poolingMode(Path config) throws IOException {
        HfConfig c = HfConfig.read(config);
        List<Pooling.Mode> on = new ArrayList<>();
        if (c.getBoolean("pooling_mode_mean_tokens", false)) on.add(Pooling.Mode.MEAN);
        if (c.getBoolean("pooling_mode_cls_token", false)) on.add(Pooling.Mode.CLS);
        if (c.getBoolean("pooling_mode_max_tokens", false)) on.add(Pooling.Mode.MAX);
        for (String unsupported : List.of("pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens",
                "pooling_mode_lasttoken")) {
            if (c.getBoolean(unsupported, false)) {
                throw new WeightFileException(config, unsupported + " is not supported (mean, cls and max are)");
            }
        }
        if (on.size() != 1) {
            throw new WeightFileException(config, "expected exactly one pooling mode but found " + on
                    + " (concatenated modes are not supported)");
        }
        return on.get(0);
    }
}
