package dev.loupe.cli;

import dev.loupe.transformer.bert.BertInput;
import dev.loupe.transformer.bert.BertModel;
import dev.loupe.transformer.bert.BuiltIn;
import dev.loupe.transformer.tokenizer.Encoding;
import dev.loupe.transformer.tokenizer.WordPieceTokenizer;
import dev.loupe.weights.HfConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What the commands that take a BERT encoder share: telling a {@code --model} that names one (a built-in name, an
 * {@code .onnx} file, or a folder whose {@code config.json} says {@code "model_type": "bert"}) from a GPT-2 folder,
 * and loading its model and WordPiece tokenizer, each failure a one-line usage error.
 */
final class EncoderInputs {
    private EncoderInputs() {
    }

    static final String MODEL_HELP = "  --model M           minilm | bge-small (built in), a Hugging Face BERT or\n"
            + "                      sentence-transformers folder (tokenizer.json or vocab.txt), or an .onnx\n"
            + "                      export (tokenizer files beside it or in its parent folder)\n";

    /** A loaded encoder: how the user named it, the model and its tokenizer. */
    record Encoder(String name, BertModel model, WordPieceTokenizer tokenizer) {
        /**
         * Encodes each text as [CLS] text [SEP], truncated to the model's context, right-padded into one batch.
         *
         * @return ids, type ids and mask, each [texts, longest]
         */
        BertInput input(List<String> texts) {
            List<Encoding> encodings = new ArrayList<>();
            for (String t : texts) encodings.add(encode(t));
            return BertInput.of(encodings);
        }

        /** One text as [CLS] text [SEP], at most the model's context long. */
        Encoding encode(String text) {
            return tokenizer.encode(text, null, model.config().nCtx());
        }
    }

    /** True when {@code spec} names a BERT encoder rather than a GPT-2 folder. */
    static boolean isEncoder(String spec) {
        if (isBuiltIn(spec) || spec.toLowerCase(Locale.ROOT).endsWith(".onnx")) return true;
        Path config = Path.of(spec).resolve("config.json");
        if (!Files.isRegularFile(config)) return false;
        try {
            return HfConfig.read(Path.of(spec)).getString("model_type", "").equals("bert");
        } catch (IOException | RuntimeException e) {
            return false; // the GPT-2 path reports the malformed file
        }
    }

    private static boolean isBuiltIn(String spec) {
        return BuiltIn.exists(spec);
    }

    /** The model and tokenizer {@code spec} names ({@link #isEncoder} must hold). */
    static Encoder load(String spec) {
        if (isBuiltIn(spec)) {
            BuiltIn b = BuiltIn.named(spec);
            try {
                return new Encoder(b.id(), BertModel.builtIn(b.id()), b.tokenizer());
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot load the built-in model " + b.id() + ": " + e.getMessage());
            }
        }
        Path path = Path.of(spec);
        if (!Files.exists(path)) throw new IllegalArgumentException("model " + path + " does not exist");
        try {
            if (Files.isDirectory(path)) return new Encoder(spec, BertModel.load(path), tokenizer(path, path));
            Path dir = path.toAbsolutePath().getParent();
            BertModel model = BertModel.loadOnnx(path, null);
            Path tokDir = hasTokenizer(dir) || dir.getParent() == null || !hasTokenizer(dir.getParent()) ? dir
                    : dir.getParent();
            return new Encoder(spec, model, tokenizer(tokDir, path));
        } catch (IOException e) {
            String why = e instanceof java.nio.file.NoSuchFileException ? "missing " + e.getMessage() : e.getMessage();
            throw new IllegalArgumentException("cannot load a BERT model from " + path + ": " + why);
        }
    }

    private static boolean hasTokenizer(Path dir) {
        return Files.exists(dir.resolve("tokenizer.json")) || Files.exists(dir.resolve("vocab.txt"));
    }

    private static WordPieceTokenizer tokenizer(Path dir, Path model) {
        if (!hasTokenizer(dir)) {
            throw new IllegalArgumentException("no tokenizer.json or vocab.txt for " + model + " (looked in " + dir
                    + ")");
        }
        try {
            return WordPieceTokenizer.fromFolder(dir);
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("cannot read the tokenizer in " + dir + ": " + e.getMessage());
        }
    }
}
